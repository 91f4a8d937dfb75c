"""What the plugin's hooks and its fixtures share in each pytest process of a run.

Every process (the xdist controller and each worker) keeps a ``RunState`` in
``config.stash[STATE]``: the catalog, the checked host, the runtime's self-description. A
test's own facts travel in its item's stash under the keys below, from the fixtures that
learn them to the hook that puts them into the test's report. What only the controller
collects (outcomes, verdict) is the collector's (collector.py), not this.

Not itself a pytest plugin (nor imports one), so that the plugin modules are first imported
by pytest, which rewrites their asserts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import pytest

from .environment import Environment
from .requirements import Catalog
from .runtime import Event, RuntimeInfo, inspect_runtime
from .specversion import JudgedVersion, judged_version, version_key


@dataclass
class RunState:
    config: pytest.Config
    catalog: Catalog
    #: The host checked for the runtime given; None when no runtime was given (collection only).
    env: Environment | None = None
    #: Asked once per process, see ``runtime_self_description``.
    info: RuntimeInfo | None = None
    #: The runtime-spec release the run judges against, see ``judged_spec_version``.
    judged: JudgedVersion | None = None


STATE = pytest.StashKey[RunState]()

#: Per test: its record (``runtime`` fixture): the runtime calls and the harness's steps, in order
#: (events.py); the report takes the calls, a reproducer replays all of it.
RECORD = pytest.StashKey[list[Event]]()
#: Per test: ``evidence.ContainerEvidence`` of each container, taken before teardown removes them.
CONTAINER_SNAPSHOTS = pytest.StashKey[list]()
#: Per test: whether setup or the test itself did not pass (so its containers are worth keeping).
DID_NOT_PASS = pytest.StashKey[bool]()
#: Per test: the failure's text (setup or call phase), for ``--keep-failed``'s failure.txt.
FAILURE = pytest.StashKey[str]()

NO_RUNTIME = "no runtime given: pass --runtime PATH (or set OCITEST_RUNTIME)"


# pytest.exit.Exception is pytest's public name of its exit exception, which its type stubs do not declare.
class ocitest(pytest.exit.Exception):  # type: ignore[name-defined]  # noqa: N801 - the first word pytest prints
    """Stops the run before it starts, with one line on stderr: ``ocitest: error: <what to do>``.

    pytest prints an exit raised while it configures as ``<type name>: <message>`` on stderr,
    so this type's name and message make the command line's one-line contract, for
    ``ocitest run`` and plain ``pytest suites`` alike.
    """


def stop(problem: object) -> NoReturn:
    """End the run with exit status 2 (usage or environment) and the one line saying what to do."""
    raise ocitest(f"error: {problem}", returncode=2)


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def runtime_self_description(config: pytest.Config) -> RuntimeInfo | None:
    """The runtime's self-description, asked once per pytest process (None without a runtime).

    The controller asks in pytest_configure; an xdist worker asks the first time something
    needs it (collection, a precondition, the harness fixture), and every later caller gets
    the same answer.
    """
    state = config.stash[STATE]
    if state.env is None:
        return None
    if state.info is None:
        state.info = inspect_runtime(state.env.runtime, config.getoption("runtime_arg"),
                                     profile=config.getoption("ocitest_profile"))
    return state.info


def judged_spec_version(config: pytest.Config) -> JudgedVersion:
    """The release the run judges against (``--spec-version``, else what the runtime declares), once per process."""
    state = config.stash[STATE]
    if state.judged is None:
        info = runtime_self_description(config)
        state.judged = judged_version(option=config.getoption("ocitest_spec_version"),
                                      features_max=info.declared_max if info else None,
                                      version_spec=info.spec_version if info else None)
    return state.judged


def case_since(item: pytest.Item) -> str | None:
    """The release a test or case is marked ``@since`` (the newest when marked more than once), or None."""
    versions = [str(mark.args[0]) for mark in item.iter_markers("since") if mark.args]
    return max(versions, key=version_key) if versions else None


def requirement_ids(item: pytest.Item) -> list[str]:
    """The catalog IDs a test declares with ``@pytest.mark.requirement``."""
    return [rid for mark in item.iter_markers("requirement") for rid in mark.args]
