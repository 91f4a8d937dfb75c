"""The three ways a check can go wrong, kept apart so that verdicts stay honest.

* ``Violation``: the runtime did something the spec forbids. A test that raises it (or a
  plain ``assert``) fails, and its requirements turn red or yellow.
* ``HarnessError``: ocitest itself could not decide (its own config was invalid, a probe's
  output could not be parsed, ...). Reported as an error, never blamed on the runtime.
* ``EnvironmentProblem``: the host cannot run the suite at all (no runtime, not root, no
  busybox, no schemas). Ends the run with exit status 2 and one line saying what to do.
"""


class Violation(AssertionError):
    """The runtime broke a requirement; the message says what it did."""


class RuntimeTimeout(Violation):
    """A runtime call or a wait on the container did not finish within its time limit."""


class HarnessError(Exception):
    """ocitest could not carry out the check; not the runtime's fault."""


class EnvironmentProblem(Exception):
    """The host cannot run the suite; the message says what to install or change."""
