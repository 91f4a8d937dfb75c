"""Before the suite: can the runtime create the simplest container at all?

If it cannot, every check would be red for the same reason; instead the run stops with one
message naming the failed call, the runtime's own words and the likely cause on the host. The
check is deliberately small (create, then state must report it as created, then remove it) so
that a runtime that gets details wrong still reaches the suite, where those are judged.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .bundle import BundleFactory
from .caller import become_subreaper
from .container import Container, LiveContainers, Timeouts, new_container_id
from .environment import Environment, scratch_base
from .errors import EnvironmentProblem, RuntimeTimeout
from .rootfs import build_rootfs
from .runtime import RuntimeInfo
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


def _hint(text: str) -> str:
    lowered = text.lower()
    for words, advice in HINTS:
        if words.lower() in lowered:
            return f" Likely cause: {advice}."
    return ""


def preflight(env: Environment, info: RuntimeInfo, timeouts: Timeouts) -> None:
    """Raise EnvironmentProblem unless the runtime can create (and report) a minimal container."""
    # The container process is re-parented to us when create returns: reap it ourselves (this
    # machine's PID 1 may not reap orphans).
    become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="ocitest-preflight-", dir=scratch_base()))
    live = LiveContainers()
    runtime = info.new_runtime(timeouts.runtime)
    try:
        rootfs = build_rootfs(workdir / "rootfs", env.busybox)
        bundles = BundleFactory(workdir / "bundles", rootfs, Schemas(env.schema_dir), info.oci_version,
                                rootless=env.rootless)
        container = Container(runtime, bundles.new(), live, timeouts, new_container_id() + "-preflight")
        try:
            call = container.create(check=False)
        except RuntimeTimeout as exc:
            raise EnvironmentProblem(f"the runtime cannot create the simplest container: {exc}") from None
        if not call.ok:
            raise EnvironmentProblem(
                f"the runtime cannot create the simplest container: {call.describe()}.{_hint(call.stderr)}"
            )
        state_call, state = container.state_call()
        if state is None or state.get("id") != container.id:
            shown = state_call.stdout.strip()[:200] or state_call.stderr.strip()[:200]
            raise EnvironmentProblem(
                f"`{state_call.command()}` after a successful create did not report the container "
                f"(exit {state_call.exit}: {shown!r}); is {info.path} an OCI runtime?"
            )
    finally:
        problems = live.remove_all()
        shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        raise EnvironmentProblem("the runtime created a container but could not remove it: " + "; ".join(problems))
