"""Before the suite: the simplest containers carried through their whole life, once, each step timed.

Container A runs a program that prints a line and exits 3: create, state (created, with a pid),
start, its output arrives, its exit status is collected, state (stopped), delete, and state of
the deleted ID fails; state of an ID no one created must fail too. Containers B and C run a
program that waits: B is killed with TERM (the program reports the signal) and C with KILL.

A runtime that cannot create the simplest container at all (create fails or hangs) stops the
run with one line, the runtime's words and the likely cause on the host (exit status 2): every
check would be red for the same reason, most likely the host's. Any other step that fails is a
finding: a ``StepResult`` with the requirements it broke and the calls and timings as evidence
(lifecycle.py says what the run then makes of it). A step whose precondition failed is not run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from . import probe
from .bundle import BundleFactory
from .caller import become_subreaper
from .container import Container, LiveContainers, Timeouts, new_container_id
from .environment import Environment, scratch_base
from .errors import EnvironmentProblem, RuntimeTimeout
from .lifecycle import CEILING, FAILED, FLOOR, NOT_RUN, PASSED, STEPS, Lifecycle, StepResult
from .rootfs import build_rootfs
from .runtime import Call, Event, Runtime, RuntimeInfo, runtime_calls
from .schema import Schemas

#: Known host causes, by what the runtime says: (words in its stderr, what to do).
HINTS = [
    ("cgroups in hybrid mode not supported",
     "this host mixes cgroup v1 and v2 with a controller (often hugetlb) on v2; move it to a v1 hierarchy, e.g. "
     "`mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb`"),
    ("network enabled in root network namespace",
     "pass the runtime's own option to run without networking, e.g. --runtime-arg=--network=none for runsc"),
    ("permission denied", "run ocitest as root (the rootful runtime needs it)"),
]

T = TypeVar("T")

#: What container A prints, and the status it exits with.
RAN = f"{probe.PREFIX}lifecycle-ran"
EXIT_CODE = 3
#: The preflight's waits are this many times what create and start took, within FLOOR..the wait limit.
WAIT_FACTOR = 20.0


def _hint(text: str) -> str:
    lowered = text.lower()
    for words, advice in HINTS:
        if words.lower() in lowered:
            return f" Likely cause: {advice}."
    return ""


def preflight(env: Environment, info: RuntimeInfo, call_limit: float | None = None,
              wait_limit: float | None = None) -> Lifecycle:
    """Prove the lifecycle on the simplest containers; raise EnvironmentProblem only if nothing can be created.

    ``call_limit`` / ``wait_limit`` are the user's options (None: the default ceiling).
    """
    # The container process is re-parented to us when create returns: reap it ourselves (this
    # machine's PID 1 may not reap orphans).
    become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="ocitest-preflight-", dir=scratch_base()))
    live = LiveContainers()
    events: list[Event] = []
    timeouts = Timeouts(call_limit or CEILING, wait_limit or CEILING)
    runtime = info.new_runtime(timeouts.runtime, events)
    runtime.before_delete = live.settle_for
    proof: _Proof | None = None
    try:
        rootfs = build_rootfs(workdir / "rootfs", env.busybox)
        bundles = BundleFactory(workdir / "bundles", rootfs, Schemas(env.schema_dir), info.oci_version,
                                rootless=env.rootless)
        proof = _Proof(runtime, events, bundles, live, timeouts, (call_limit, wait_limit), info)
        return proof.run()
    finally:
        if proof is not None:
            found = proof.lifecycle().prerequisites()
            for container in proof.containers:  # teardown that does not wait on what is known broken
                container.prerequisites = found
        try:
            live.remove_all()  # raises a Ctrl-C it held off (interrupt.py) only after removing them
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


class _Proof:
    """The steps, in order; each appends its StepResult (``lifecycle()`` is what was found so far)."""

    def __init__(self, runtime: Runtime, events: list[Event], bundles: BundleFactory, live: LiveContainers,
                 timeouts: Timeouts, options: tuple[float | None, float | None], info: RuntimeInfo) -> None:
        self.runtime, self.events, self.bundles, self.live = runtime, events, bundles, live
        self.timeouts, self.info = timeouts, info
        self.call_option, self.wait_option = options
        self.steps: list[StepResult] = []
        self.containers: list[Container] = []
        self._mark = 0
        #: Runtime calls (by name) that hung once: not made again, each would only hang again.
        self.hung: set[str] = set()

    def lifecycle(self) -> Lifecycle:
        return Lifecycle(list(self.steps))

    # -- recording ------------------------------------------------------------------------

    def _calls(self) -> list[dict]:
        """The calls made since the last step was recorded."""
        calls = runtime_calls(self.events[self._mark:])
        self._mark = len(self.events)
        return [c.to_json() for c in calls]

    def _record(self, name: str, outcome: str, requirements: list[str], detail: str, seconds: float = 0.0,
                kind: str = "call", waited_for: str = "", stalled: str = "",
                calls: list[dict] | None = None) -> StepResult:
        step = StepResult(name, outcome, requirements, detail, seconds, kind, waited_for,
                          self._calls() if calls is None else calls, stalled)
        self.steps.append(step)
        return step

    def _not_run(self, names: list[str], because: str) -> None:
        for name in names:
            self._record(name, NOT_RUN, [], f"not run: {because}")

    def _rest_not_run(self, because: str) -> Lifecycle:
        """Every step not taken yet is not run, for ``because``; the lifecycle as it ends."""
        taken = {s.name for s in self.steps}
        self._not_run([n for n in STEPS if n not in taken], because)
        return self.lifecycle()

    def _call(self, do: Callable[[], T], operation: str) -> tuple[T | None, str]:
        """Make a runtime call; (its result, "") or (None, why) when it hung."""
        try:
            return do(), ""
        except RuntimeTimeout as exc:
            self.hung.add(operation)
            return None, str(exc)

    def _not_again(self, name: str, operation: str) -> bool:
        """Record ``name`` as not run when ``operation`` already hung in this preflight."""
        if operation not in self.hung:
            return False
        self._record(name, NOT_RUN, [], f"not run: {operation} already hung in this preflight")
        return True

    def _container(self, args: list[str], suffix: str) -> Container:
        bundle = self.bundles.new()
        bundle.set_args(args)
        container = Container(self.runtime, bundle, self.live, self.timeouts, f"{new_container_id()}-{suffix}")
        self.containers.append(container)
        return container

    def _wait_limit(self) -> float:
        """How long to wait for a container: sized by what create and start took (see WAIT_FACTOR)."""
        if self.wait_option is not None:
            return self.wait_option
        taken = sum(s.seconds for s in self.steps if s.name in ("create", "start") and s.outcome == PASSED)
        return min(CEILING, max(FLOOR, WAIT_FACTOR * taken))

    # -- the steps ------------------------------------------------------------------------

    def run(self) -> Lifecycle:
        a = self._container(probe.sh(f'echo "{RAN}"', f"exit {EXIT_CODE}"), "preflight")
        if not self._create(a):
            return self._rest_not_run("create made no container")
        waits = self.lifecycle().step("program-waits")
        if waits is not None and waits.outcome == FAILED:
            return self._rest_not_run("create already ran the program")
        if self._start_and_run(a):
            if self._stopped(a):
                self._delete(a)
        ran = self.lifecycle().step("program-runs")
        if ran is not None and ran.outcome == PASSED:
            self._kill()
        else:
            self._not_run(["state-running", "kill-TERM", "kill-KILL"], "start did not run the simplest program")
        return self.lifecycle()

    def _size_call_limit(self, created: float) -> None:
        """After create: the later calls get WAIT_FACTOR x what create took (within FLOOR..the ceiling),
        unless the option set the limit; create does the most work of all the calls."""
        if self.call_option is None:
            self.runtime.timeout = min(self.timeouts.runtime, max(FLOOR, WAIT_FACTOR * created))

    def _state_of_unknown(self) -> None:
        unknown = f"ocitest-{os.getpid()}-never-created"
        call, hung = self._call(lambda: self.runtime.state(unknown), "state")
        if call is None:
            self._record("state-unknown", FAILED, ["runtime.state-unknown-container"],
                         f"state of {unknown!r}, an ID no one created, hung: {hung}", self.runtime.timeout,
                         stalled="state")
        elif call.ok:
            self._record("state-unknown", FAILED, ["runtime.state-unknown-container"],
                         f"state of {unknown!r}, an ID no one created, reported no error: {call.describe()}; "
                         f"it printed {call.stdout.strip()[:200]!r}", call.duration)
        else:
            self._record("state-unknown", PASSED, ["runtime.state-unknown-container"],
                         f"state of an ID no one created failed, as it must ({call.describe()})", call.duration)

    def _create(self, a: Container) -> bool:
        """create, then state: False when create made nothing (the rest cannot be proven)."""
        try:
            call = a.create(check=False)
        except RuntimeTimeout as exc:
            raise EnvironmentProblem(f"the runtime cannot create the simplest container: {exc}") from None
        if not call.ok:
            raise EnvironmentProblem(
                f"the runtime cannot create the simplest container: {call.describe()}.{_hint(call.stderr)}")
        created = call.duration
        create_calls = self._calls()
        self._size_call_limit(created)
        self._state_of_unknown()
        if "state" in self.hung:
            state, hung = None, "state already hung in this preflight"
        else:
            state, hung = self._call(lambda: a._state_call(), "state")
        state_calls = self._calls()
        if state is not None and state[0].ok and state[1] is None and a.pid is None:
            # Nothing made, and a state that "succeeds" without printing one: no OCI runtime at all.
            shown = state[0].stdout.strip()[:200] or state[0].stderr.strip()[:200]
            raise EnvironmentProblem(
                f"`{state[0].command()}` after a successful create did not report the container "
                f"(exit {state[0].exit}: {shown!r}); is {self.info.path} an OCI runtime?")
        if state is not None and not state[0].ok and a.pid is None:
            self.steps.append(StepResult(
                "create", FAILED, ["runtime.create-new-container"],
                f"create exited 0 after {created * 1000:.0f} ms but made no container: state of its ID fails "
                f"({state[0].describe()}) and no pid was written to --pid-file", created,
                calls=create_calls + state_calls))
            return False
        self.steps.append(StepResult("create", PASSED, ["runtime.create-new-container"],
                                     f"create returned success after {created * 1000:.0f} ms", created,
                                     calls=create_calls))
        early = self._program_waits(a, state, create_calls + state_calls)
        if state is None and not state_calls:
            self._record("state-created", NOT_RUN, [], f"not run: {hung}", calls=[])
            return True
        broken, detail = self._judge_created_state(a, state, hung, early)
        seconds = state[0].duration if state else self.runtime.timeout
        if broken:
            self._record("state-created", FAILED, broken, detail, seconds, stalled="state" if state is None else "",
                         calls=state_calls)
        else:
            requirements = ["runtime.state-id", "runtime.state-status", "runtime.state-returns-state"]
            if not self.info.profile.sandboxed:
                requirements.append("runtime.state-pid")
            self._record("state-created", PASSED, requirements, detail, seconds, calls=state_calls)
        return True

    def _program_waits(self, a: Container, state: tuple[Call, dict | None] | None, calls: list[dict]) -> bool:
        """Whether create already ran the program (its line is out, or state says it runs or ran)."""
        a.stdio.pump(0)
        status = (state[1] or {}).get("status") if state else None
        requirements = ["runtime.lifecycle-program-not-run-at-create", "runtime.create-defers-process-args"]
        if RAN.encode() in a.stdio.out or status in ("running", "stopped"):
            seen = ("it printed its line before start was invoked" if RAN.encode() in a.stdio.out
                    else f"state said status {status!r} right after create")
            self._record("program-waits", FAILED, requirements, f"create already ran the program: {seen}",
                         calls=calls)
            return True
        self._record("program-waits", PASSED, requirements, "nothing of the program was seen before start", calls=[])
        return False

    def _judge_created_state(self, a: Container, state: tuple[Call, dict | None] | None,
                             hung: str, early: bool) -> tuple[list[str], str]:
        """What state said of the container create just made (``early``: create already ran the
        program, so a status other than created is the truth, not state's fault)."""
        if state is None:
            return ["runtime.state-returns-state"], f"state of the created container hung: {hung}"
        call, data = state
        if not call.ok:
            return ["runtime.state-returns-state"], f"state of the created container failed: {call.describe()}"
        if data is None:
            return ["runtime.state-returns-state"], f"state printed no JSON object: {call.stdout.strip()[:200]!r}"
        broken, said = [], []
        if data.get("id") != a.id:
            broken.append("runtime.state-id")
            said.append(f"id {data.get('id')!r}, not {a.id!r}")
        if data.get("status") != "created" and not early:
            broken.append("runtime.state-status")
            said.append(f"status {data.get('status')!r} right after create, not 'created'")
        pid = data.get("pid")
        if not (isinstance(pid, int) and pid > 0) and not early:
            broken.append("runtime.state-pid")
            said.append(f"pid {pid!r} for a created container")
        if broken:
            return broken, "state of the created container said " + "; ".join(said)
        return [], f"state said id {a.id}, status created, pid {pid}"

    def _start_and_run(self, a: Container) -> bool:
        """start, the output arrives, the exit status is collected: False when any failed."""
        later = ["program-runs", "exit", "state-stopped", "delete", "state-deleted"]
        call, hung = self._call(lambda: a.start(check=False), "start")
        if call is None:
            self._record("start", FAILED, ["runtime.start-runs-program"], f"start hung: {hung}",
                         self.runtime.timeout, stalled="start")
            self._not_run(later, "start did not return")
            return False
        if not call.ok:
            self._record("start", FAILED, ["runtime.start-runs-program"],
                         f"start of the created container failed: {call.describe()}", call.duration)
            self._not_run(later, "start failed")
            return False
        self._record("start", PASSED, ["runtime.start-runs-program"],
                     f"start returned success after {call.duration * 1000:.0f} ms", call.duration)
        limit = self._wait_limit()
        waited_for = f"the line {RAN!r} on the container's stdout, up to {limit:g} s after start returned"
        began = time.monotonic()
        try:
            a.stdio.read_until(RAN.encode(), limit)
        except (RuntimeTimeout, AssertionError) as exc:
            seconds = time.monotonic() - began
            self._record("program-runs", FAILED, ["runtime.start-runs-program", "runtime.lifecycle-run-program"],
                         f"start returned success, but the program did not run: {exc}{self._status_now(a)}",
                         seconds, "wait", waited_for,
                         stalled="output after start" if isinstance(exc, RuntimeTimeout) else "")
            self._not_run(later[1:], "the program did not run")
            return False
        seconds = time.monotonic() - began
        self._record("program-runs", PASSED, ["runtime.start-runs-program", "runtime.lifecycle-run-program"],
                     f"the program's output arrived {seconds * 1000:.0f} ms after start returned", seconds, "wait",
                     waited_for)
        return self._exit(a, limit)

    def _exit(self, a: Container, limit: float) -> bool:
        waited_for = f"the exit of the container process (pid {a.pid}), up to {limit:g} s"
        if a.watch is None:
            self._record("exit", NOT_RUN, [], "not run: neither --pid-file nor state named a live container process")
            self._not_run(["state-stopped", "delete", "state-deleted"], "there was no process to wait for")
            return False
        began = time.monotonic()
        try:
            status = a.watch.wait(limit)
        except RuntimeTimeout as exc:
            self._record("exit", FAILED, ["runtime.start-runs-program"],
                         f"the program printed its line and exits {EXIT_CODE}, but {exc}",
                         time.monotonic() - began, "wait", waited_for, stalled="exit after start")
            self._not_run(["state-stopped", "delete", "state-deleted"], "the program did not exit")
            return False
        seconds = time.monotonic() - began
        if status is not None and status.code != EXIT_CODE:
            self._record("exit", FAILED, ["runtime.start-runs-program"],
                         f"the program exits {EXIT_CODE}; the caller collected {status}", seconds, "wait", waited_for)
            return True
        seen = "not ours to read (not our child)" if status is None else str(status)
        self._record("exit", PASSED, ["runtime.start-runs-program"],
                     f"the container process ended {seconds * 1000:.0f} ms after its output; its status: {seen}",
                     seconds, "wait", waited_for)
        return True

    def _status_now(self, a: Container) -> str:
        if "state" in self.hung:
            return ""
        try:
            call, data = a._state_call()
        except RuntimeTimeout:
            self.hung.add("state")
            return ""
        return f"; state then said status {(data or {}).get('status')!r}" if call.ok else ""

    def _stopped(self, a: Container) -> bool:
        if self._not_again("state-stopped", "state"):
            return True
        state, hung = self._call(lambda: a._state_call(), "state")
        if state is None or not state[0].ok or state[1] is None:
            why = hung if state is None else state[0].describe()
            self._record("state-stopped", FAILED, ["runtime.state-returns-state"],
                         f"state of the container whose program exited did not report it: {why}")
            return True
        status = state[1].get("status")
        if status != "stopped":
            self._record("state-stopped", FAILED, ["runtime.state-status"],
                         f"the program exited, and state still says status {status!r}, not 'stopped'",
                         state[0].duration)
        else:
            self._record("state-stopped", PASSED, ["runtime.state-status"], "state said stopped", state[0].duration)
        return True

    def _delete(self, a: Container) -> None:
        call, hung = self._call(lambda: self.runtime.delete(a.id), "delete")
        requirements = ["runtime.lifecycle-destroy", "runtime.delete-removes-resources"]
        if call is None or not call.ok:
            why = hung if call is None else call.describe()
            self._record("delete", FAILED, requirements, f"delete of the stopped container failed: {why}",
                         self.runtime.timeout if call is None else call.duration,
                         stalled="delete" if call is None else "")
            self._not_run(["state-deleted"], "delete failed")
            return
        self._record("delete", PASSED, requirements, f"delete returned success after {call.duration * 1000:.0f} ms",
                     call.duration)
        a.deleted = True
        if self._not_again("state-deleted", "state"):
            return
        after, hung = self._call(lambda: a._state_call(), "state")
        unknown = next(s for s in self.steps if s.name == "state-unknown")
        if after is not None and not after[0].ok:
            self._record("state-deleted", PASSED, requirements, "state of the deleted ID failed", after[0].duration)
        elif unknown.outcome == FAILED:
            self._record("state-deleted", NOT_RUN, [],
                         "not judged: state succeeds for IDs no one created, so it cannot tell whether delete "
                         "removed the container")
        else:
            why = hung if after is None else f"{after[0].describe()}; it printed {after[0].stdout.strip()[:200]!r}"
            self._record("state-deleted", FAILED, requirements,
                         f"delete returned success, but the runtime still knows the container: state {why}")

    def _kill(self) -> None:
        """B gets TERM and C gets KILL, both running; both are awaited within one wait limit."""
        b = self._container(probe.waiting(*probe.report_signals("TERM")), "preflight-term")
        c = self._container(probe.waiting(), "preflight-kill")
        for container in (b, c):
            why = self._launch(container)
            if why:
                self._not_run(["state-running", "kill-TERM", "kill-KILL"],
                              f"a waiting container could not be run: {why}")
                return
        self._calls()  # the launches are not part of the steps' evidence
        self._running(b)
        limit = self._wait_limit()
        term = self._call(lambda: self.runtime.kill(b.id, "TERM"), "kill"), self._calls()
        kill = None if "kill" in self.hung else (self._call(lambda: self.runtime.kill(c.id, "KILL"), "kill"),
                                                 self._calls())
        deadline = time.monotonic() + limit
        signalled = f"{probe.PREFIX}signal TERM"
        self._judge_kill("kill-TERM", term, limit, f"the line {signalled!r} from the program, up to {limit:g} s",
                         lambda left: b.stdio.read_until(signalled.encode(), left), deadline)
        if kill is None:
            self._record("kill-KILL", NOT_RUN, [], "not run: kill already hung in this preflight", calls=[])
            return
        watch = c.watch
        self._judge_kill("kill-KILL", kill, limit, f"the exit of the container process, up to {limit:g} s",
                         (lambda left: watch.wait(left)) if watch is not None else None, deadline)

    def _running(self, b: Container) -> None:
        if self._not_again("state-running", "state"):
            return
        state, hung = self._call(lambda: b._state_call(), "state")
        if state is None or not state[0].ok or state[1] is None:
            why = hung if state is None else state[0].describe()
            self._record("state-running", FAILED, ["runtime.state-returns-state"],
                         f"state of a container whose program runs did not report it: {why}",
                         stalled="state" if state is None else "")
            return
        status = state[1].get("status")
        if status != "running":
            self._record("state-running", FAILED, ["runtime.state-status"],
                         f"the program runs (it printed {probe.READY!r} and waits), and state says status {status!r}, "
                         "not 'running'", state[0].duration)
        else:
            self._record("state-running", PASSED, ["runtime.state-status"], "state said running", state[0].duration)

    def _launch(self, container: Container) -> str:
        try:
            if not container.create(check=False).ok:
                return "create failed"
            if not container.start(check=False).ok:
                return "start failed"
            container.stdio.read_until(probe.READY.encode(), self._wait_limit())
        except (RuntimeTimeout, AssertionError) as exc:
            return str(exc)
        return ""

    def _judge_kill(self, name: str, sent: tuple[tuple[Call | None, str], list[dict]], limit: float,
                    waited_for: str, wait: Callable[[float], object] | None, deadline: float) -> None:
        """One kill step: the call (made already), then the wait for its effect until ``deadline``."""
        (call, hung), calls = sent
        requirements = ["runtime.kill-sends-signal"]
        if call is None or not call.ok:
            why = hung if call is None else call.describe()
            self.steps.append(StepResult(name, FAILED, requirements, f"kill of a running container failed: {why}",
                                         self.runtime.timeout if call is None else call.duration, calls=calls,
                                         stalled="kill" if call is None else ""))
            return
        if wait is None:
            self.steps.append(StepResult(name, NOT_RUN, [], "not run: no container process to watch", calls=calls))
            return
        began = time.monotonic()
        try:
            wait(max(0.0, deadline - time.monotonic()))
        except (RuntimeTimeout, AssertionError) as exc:
            timed_out = isinstance(exc, RuntimeTimeout)
            seen = "" if timed_out else f" ({exc})"
            stalled = ("output after kill" if name == "kill-TERM" else "exit after kill") if timed_out else ""
            self.steps.append(StepResult(
                name, FAILED, requirements,
                f"kill returned success, but the signal did not take effect: no sign of it within {limit:g} s{seen}",
                time.monotonic() - began, "wait", waited_for, calls, stalled))
            return
        seconds = time.monotonic() - began
        self.steps.append(StepResult(name, PASSED, requirements,
                                     f"the signal took effect {seconds * 1000:.0f} ms after kill returned",
                                     seconds, "wait", waited_for, calls))
