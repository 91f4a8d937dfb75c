"""config.md, Process and Root: what the program is run with (args, env, cwd, exit status) and on.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configProcess
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configRoot
"""

import pytest

from ocitest import EXCHANGE_DIR, probe, requirement

TRICKY_ARGS = ["a b", "", "'single'", '"double"', "ünïcode ✓", "$HOME", "back\\slash", "-n"]


@requirement("config.process-args")
def test_args_reach_the_program_verbatim(new_container):
    args = probe.sh('for a in "$@"; do printf "ocitest:arg [%s]\\n" "$a"; done') + ["sh", *TRICKY_ARGS]
    status, out = new_container(args).run_to_exit()
    assert probe.facts(out).get("arg") == [f"[{a}]" for a in TRICKY_ARGS], f"the program got {out!r}"


@requirement("config.process-args")
def test_the_first_arg_is_looked_up_in_PATH(new_container):
    status, out = new_container(["sh", "-c", probe.say("found", "yes")]).run_to_exit()
    assert probe.facts(out).get("found") == ["yes"], f"`sh` (no slash) was not found through PATH: {out!r}"


@requirement("config.process-env")
def test_env_is_exactly_the_configured_environment(new_container, new_bundle):
    bundle = new_bundle()
    env = ["PATH=/bin:/usr/bin", "HOME=/root", "OCITEST_SPACES=a b  c", "OCITEST_EMPTY=", "OCITEST_EQUALS=x=y=z",
           "OCITEST_UNICODE=ünï", "TERM=dumb"]
    bundle.config["process"]["env"] = env
    container = new_container(probe.waiting(), bundle=bundle).launch()
    seen = container.view.environ()
    container.finish()
    missing = sorted(set(env) - set(seen))
    extra = sorted(set(seen) - set(env))
    assert not missing, (
        f"configured variables missing or changed in the program's environment: {missing} (it got {seen})"
    )
    assert not extra, f"the runtime added variables the config does not have: {extra}"


# No `/` case: a runtime that ignored `cwd` would start the program there and pass it.
@requirement("config.process-cwd")
@pytest.mark.parametrize("cwd", ["/etc", "/ocitest", "/ocitest/a b"])
def test_the_program_starts_in_cwd(new_container, new_bundle, cwd):
    bundle = new_bundle()
    if cwd.startswith(f"{EXCHANGE_DIR}/"):
        (bundle.exchange / cwd.removeprefix(f"{EXCHANGE_DIR}/")).mkdir()
    bundle.config["process"]["cwd"] = cwd
    status, out = new_container(probe.sh(probe.say("cwd", "$(pwd -P)")), bundle=bundle).run_to_exit()
    assert probe.facts(out).get("cwd") == [cwd], f"cwd is {cwd!r}, the program started in {probe.facts(out).get('cwd')}"


@requirement("runtime.start-runs-program")
@pytest.mark.parametrize("code", [0, 1, 42, 255])
def test_the_exit_code_reaches_the_caller(new_container, code):
    status, _ = new_container(probe.sh(f"exit {code}")).run_to_exit()
    if status is None:
        pytest.skip("the container process is not the caller's child here; its status cannot be read")
    assert status.code == code, f"the program exited {code}, the caller saw {status}"


@requirement("config.root-path")
def test_the_root_is_the_configured_rootfs(new_container, new_bundle):
    bundle = new_bundle()
    (bundle.rootfs / "ocitest-marker").write_text("this bundle\n")
    status, out = new_container(probe.sh("cat /ocitest-marker"), bundle=bundle).run_to_exit()
    assert "this bundle" in out, f"the container's / is not root.path: {out!r}"


@requirement("config.root-path")
def test_an_absolute_root_path_works_too(new_container, new_bundle):
    bundle = new_bundle()
    bundle.config["root"]["path"] = str(bundle.path / "rootfs")
    (bundle.rootfs / "ocitest-marker").write_text("absolute\n")
    status, out = new_container(probe.sh("cat /ocitest-marker"), bundle=bundle).run_to_exit()
    assert "absolute" in out, f"the container's / is not the absolute root.path: {out!r}"


@requirement("config.root-readonly")
@pytest.mark.parametrize("readonly", [True, False])
def test_root_readonly_decides_whether_the_root_is_writable(new_container, new_bundle, readonly):
    bundle = new_bundle()
    bundle.config["root"]["readonly"] = readonly
    script = probe.sh('if (echo x > /ocitest-write) 2>/ocitest/err; then ' + probe.say("write", "ok")
                      + '; else ' + probe.say("write", "failed") + '; fi')
    status, out = new_container(script, bundle=bundle).run_to_exit()
    write = probe.facts(out).get("write")
    if readonly:
        assert write == ["failed"], "root.readonly is true, yet the program could write to /"
        error = (bundle.exchange / "err").read_text()
        assert "Read-only file system" in error, f"writing to / failed, but not with EROFS: {error!r}"
    else:
        assert write == ["ok"], (
            f"root.readonly is false, yet writing to / failed: {(bundle.exchange / 'err').read_text()!r}"
        )
