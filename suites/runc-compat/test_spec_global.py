"""spec, and the global and create options engines pass: --root, --log/--log-format json, --debug,
--no-pivot, --preserve-fds.

https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-spec.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc.8.md
https://github.com/opencontainers/runc/blob/v1.5.1/man/runc-create.8.md
"""

import fcntl
import json
import os

import pytest

from ocitest import (
    PidfdSocket,
    RuntimeTimeout,
    Wiring,
    pidfd_target,
    probe,
    read_available,
    requirement,
    set_nonblocking,
)


def spec_in(runtime, folder, *options: str):
    """``spec [OPTIONS] --bundle FOLDER``; the config it wrote."""
    folder.mkdir()
    call = runtime.call("spec", *options, "--bundle", str(folder))
    assert call.ok, f"spec failed: {call.describe()}"
    path = folder / "config.json"
    assert path.is_file(), f"`{call.command()}` wrote no config.json in the bundle folder"
    return json.loads(path.read_text())


@requirement("compat.spec-valid")
def test_spec_writes_a_config_the_schema_accepts(runtime, new_bundle, schemas):
    config = spec_in(runtime, new_bundle().path / "spec")
    problems = schemas.config_errors(config)
    assert not problems, (f"the config.json `spec` wrote (ociVersion {config.get('ociVersion')}) is invalid: "
                          f"{problems[:5]}")


@requirement("compat.spec-rootless")
def test_spec_rootless_writes_a_config_with_a_user_namespace(runtime, new_bundle, schemas):
    config = spec_in(runtime, new_bundle().path / "spec", "--rootless")
    problems = schemas.config_errors(config)
    assert not problems, f"the config.json `spec --rootless` wrote is invalid: {problems[:5]}"
    kinds = [ns.get("type") for ns in config.get("linux", {}).get("namespaces", [])]
    assert "user" in kinds, f"`spec --rootless` gave no user namespace: {kinds}"


@requirement("compat.global-root")
def test_the_container_is_known_under_its_root_only(new_container, runtime):
    container = new_container(probe.waiting())
    container.launch()
    other = container.bundle.path / "other-root"
    other.mkdir(mode=0o700)
    assert runtime.state(container.id).ok, "state of the running container failed under its own root"
    call = runtime.call("--root", str(other), "state", container.id)
    assert call.failed, f"under another --root, state of the container still succeeded: {call.describe()}"
    listed = runtime.call("--root", str(other), "list", "--format=json")
    assert container.id not in listed.stdout, f"list under another --root shows the container: {listed.stdout[:300]!r}"


@requirement("compat.global-log-json")
def test_an_error_is_logged_as_json_lines(runtime, new_bundle, unknown_container_id):
    log = new_bundle().path / "runtime-log.json"
    call = runtime.call("--log", str(log), "--log-format", "json", "state", unknown_container_id)
    assert call.failed, f"state of an unknown container did not fail: {call.describe()}"
    lines = log.read_text().splitlines() if log.exists() else []
    assert lines, f"`{call.command()}` failed and wrote nothing to the --log file"
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a line of the --log-format json log is not JSON: {line[:300]!r}") from None
    bad = [e for e in entries if not (isinstance(e, dict) and isinstance(e.get("level"), str)
                                      and isinstance(e.get("msg"), str))]
    assert not bad, f"log entries without a `level` and `msg`: {bad[:3]}"
    assert any(e["level"] == "error" for e in entries), f"the failure is logged at no `error` level: {entries[:5]}"


@requirement("compat.global-debug")
def test_debug_changes_nothing_but_the_log(new_container, runtime):
    runtime.global_args.append("--debug")
    container = new_container(probe.sh(probe.say("ran", "yes")))
    status, out = container.run_to_exit()
    assert status is None or status.code == 0, f"with --debug the program ended with {status}"
    assert probe.facts(out).get("ran") == ["yes"], f"with --debug the program printed {out[-300:]!r}"


@requirement("compat.create-pidfd-socket")
def test_create_sends_a_pidfd_of_the_container_process_where_offered(new_container, runtime):
    if not runtime.offers("create", "--pidfd-socket"):
        pytest.skip("the runtime's `create --help` does not list --pidfd-socket: not claimed")
    container = new_container(probe.waiting())
    listener = PidfdSocket(container.bundle.path / "pidfd.sock")
    try:
        call = container.create(options=("--pidfd-socket", str(listener.path)))
        try:
            pidfd = listener.receive(container.timeouts.wait)
        except RuntimeTimeout:
            raise AssertionError(f"create --pidfd-socket sent nothing over the socket ({call.describe()})") from None
        target = pidfd_target(pidfd)
        assert target == container.pid, (
            f"the descriptor sent over --pidfd-socket is {os.readlink(f'/proc/self/fd/{pidfd}')}, a pidfd of pid "
            f"{target}; the container process is pid {container.pid}")
    finally:
        listener.close()


@requirement("compat.no-pivot")
def test_create_no_pivot_still_gives_the_rootfs(new_container, runtime):
    if not runtime.offers("create", "--no-pivot"):
        pytest.skip("the runtime's `create --help` does not list --no-pivot: not claimed")
    container = new_container(probe.sh(f"[ -d {probe.EXCHANGE_DIR} ] && [ -x /bin/busybox ] && "
                                       "echo ocitest:root rootfs"))
    container.create(options=("--no-pivot",))
    container.start()
    container.wait_exit()
    assert probe.facts(container.output()).get("root") == ["rootfs"], (
        "with --no-pivot the program's / is not the bundle's rootfs")


class HandedOver:
    """Two pipes whose write ends the runtime gets as its fds 3 and 4 (``at``), as from a service manager;
    ``seen()`` is what the program wrote through them."""

    def __init__(self) -> None:
        self.pipes = [os.pipe() for _ in range(2)]
        # Above 9: putting them at 3 and 4 never overwrites one with the other.
        self.high = [fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10) for _, w in self.pipes]
        for _, w in self.pipes:
            os.close(w)
        self.at = ((3, self.high[0]), (4, self.high[1]))

    def handed(self) -> None:
        """After the call: only the program holds the write ends now (EOF comes when it ends)."""
        for fd in self.high:
            os.close(fd)
        self.high = []

    def seen(self) -> dict[int, bytes]:
        got = {}
        for n, (r, _) in zip((3, 4), self.pipes, strict=True):
            set_nonblocking(r)
            got[n] = read_available(r)[0]
        return got

    def close(self) -> None:
        self.handed()
        for r, _ in self.pipes:
            os.close(r)


#: What the program writes through its fds 3 and 4.
THROUGH = [f"echo ocitest-through-fd{n} >&{n}" for n in (3, 4)]


def through_3_and_4(got: dict[int, bytes], how: str) -> None:
    missing = [n for n in (3, 4) if got.get(n) != f"ocitest-through-fd{n}\n".encode()]
    assert not missing, f"with {how}, the program's fds {missing} are not the caller's 3 and 4: {got}"


@requirement("compat.preserve-fds")
def test_create_preserve_fds_passes_the_descriptors_on(new_container):
    container = new_container(probe.sh(*THROUGH))
    fds = HandedOver()
    try:
        try:
            container.create(wiring=Wiring(at=fds.at), options=("--preserve-fds", "2"))
        finally:
            fds.handed()
        container.start()
        container.wait_exit()
        through_3_and_4(fds.seen(), "create --preserve-fds 2")
    finally:
        fds.close()


@requirement("compat.preserve-fds")
def test_exec_preserve_fds_passes_the_descriptors_on(new_container):
    container = new_container(probe.waiting())
    container.launch()
    fds = HandedOver()
    try:
        try:
            execd = container.exec(container.process_spec(probe.sh(*THROUGH)), options=("--preserve-fds", "2"),
                                   at=fds.at)
        finally:
            fds.handed()
        execd.wait_exit()
        through_3_and_4(fds.seen(), "exec --preserve-fds 2")
    finally:
        fds.close()


@requirement("compat.features")
def test_features_prints_the_features_structure(runtime, schemas):
    call = runtime.call("features")
    assert call.ok, f"features failed: {call.describe()}"
    features = call.printed_json()
    assert isinstance(features, dict), f"`{call.command()}` printed {type(features).__name__}, not an object"
    missing = [key for key in ("ociVersionMin", "ociVersionMax") if not features.get(key)]
    assert not missing, f"`{call.command()}` gives no {missing}"
    if schemas.has_features_schema:
        problems = schemas.features_errors(features)
        assert not problems, f"what `features` printed is invalid against the features schema: {problems[:5]}"
