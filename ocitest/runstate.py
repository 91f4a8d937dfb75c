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

from dataclasses import dataclass, field
from typing import NoReturn

import pytest

from .container import Timeouts
from .environment import Environment
from .lifecycle import CEILING, Lifecycle, SizedLimit, size_limit
from .requirements import Catalog
from .runtime import Event, RuntimeInfo, inspect_runtime
from .specversion import JudgedVersion, judged_version, version_key
from .stalls import Stalls


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
    #: What the preflight proved (None: no preflight, --skip-preflight or collection only).
    lifecycle: Lifecycle | None = None
    #: The run's time limits ("runtime": one call, "wait": a container's output or exit), and why.
    limits: dict[str, SizedLimit] | None = None
    #: Per process: the timeout streak of each operation (stalls.py).
    stalls: Stalls = field(default_factory=Stalls)
    #: A rootless run: why it has no delegated cgroup for containers (None: it has one, or rootful).
    delegation_problem: str | None = None

    def timeouts(self) -> Timeouts:
        limits = self.limits or {}
        return Timeouts(limits["runtime"].seconds if "runtime" in limits else CEILING,
                        limits["wait"].seconds if "wait" in limits else CEILING)

    def size_limits(self, runtime_option: float | None, wait_option: float | None) -> None:
        """The time limits from the options, else from what the preflight measured."""
        measured = self.lifecycle
        self.limits = {
            "runtime": size_limit(runtime_option, measured.slowest("call") if measured else None, "runtime call"),
            "wait": size_limit(wait_option, measured.slowest("wait") if measured else None, "wait on a container"),
        }
        self._arm_stalls()

    def _arm_stalls(self) -> None:
        if self.lifecycle is not None:
            self.stalls.arm(self.lifecycle.slowest("call"), self.lifecycle.slowest("wait"), self.lifecycle.stalled)

    def preflight_to_json(self) -> dict:
        """What the preflight found, as the JSON report and the xdist workers get it."""
        return {"lifecycle": self.lifecycle.to_json() if self.lifecycle else None,
                "limits": {k: v.to_json() for k, v in (self.limits or {}).items()}}

    def preflight_from_json(self, data: dict) -> None:
        """A worker takes over what the controller's preflight found."""
        self.lifecycle = Lifecycle.from_json(data["lifecycle"]) if data.get("lifecycle") is not None else None
        self.limits = {k: SizedLimit(v["seconds"], v["why"]) for k, v in data.get("limits", {}).items()}
        self._arm_stalls()


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

#: The key of what the preflight found in an xdist worker's ``workerinput``.
PREFLIGHT_KEY = "ocitest_preflight"

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
                                     profile=config.getoption("ocitest_profile"),
                                     cgroup_driver=config.getoption("ocitest_cgroup_driver"),
                                     rootless=state.env.rootless)
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
