"""The mount checks can fail: a runtime that breaks one mount requirement must turn exactly that
requirement red (compared with the real runtime on the same selection of tests).

Most wrappers wrap runc. The id-mapping ones wrap crun, the runtime here that implements `idmap`
(runc 1.1.5 ignores it, so a wrong mapping could not be told from none); they are compared with
crun's own run. The host-namespace check is red on both real runtimes (they leave the mounts of a
container without a mount namespace after delete), so it is shown the other way round: a wrapper
that unmounts them after delete turns it green.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import BAD_RUNTIMES, Run, assert_red_on_exactly, cannot_drive, needs_root_and, run_ocitest

SELECTION = ("-k", "test_mounts")


@needs_root_and("runc")
@pytest.mark.parametrize("option", ["nosuid", "noexec", "slave", "private"])
def test_a_runtime_dropping_one_mount_option_is_red_on_exactly_that_option(option, runc_on, tmp_path, monkeypatch):
    monkeypatch.setenv("OCITEST_DROP_OPTION", option)
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "drops_mount_options"), "--wait-timeout", "5",
                      *SELECTION)
    assert_red_on_exactly(run, runc_on(*SELECTION), {f"config.mount-option-{option}"},
                          f"dropping `{option}` from every mount")


@needs_root_and("runc")
@pytest.mark.parametrize("option", ["ro", "noexec"])
def test_a_runtime_dropping_an_option_only_on_bind_mounts_is_red_on_that_option(option, runc_on, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv("OCITEST_DROP_OPTION", option)
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / "drops_bind_mount_option"), "--wait-timeout", "5",
                      *SELECTION)
    assert_red_on_exactly(run, runc_on(*SELECTION), {f"config.mount-option-{option}"},
                          f"dropping `{option}` from bind mounts only")


#: wrapper around runc -> the requirements it breaks.
RUNC_CASES = {
    "mounts_slave_becomes_private": {"config.mount-option-slave", "config.mount-option-rslave"},
    "mounts_sorted_by_depth": {"config.mounts-in-order"},
    "mounts_skip_noauto": {"config.mount-custom-like-mount8"},
}


@needs_root_and("runc")
@pytest.mark.parametrize("wrapper", sorted(RUNC_CASES))
def test_a_runtime_breaking_one_mount_requirement_is_red_on_exactly_it(wrapper, runc_on, tmp_path):
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), "--wait-timeout", "5", *SELECTION)
    assert_red_on_exactly(run, runc_on(*SELECTION), RUNC_CASES[wrapper], wrapper)


@pytest.fixture(scope="module")
def crun_idmap() -> Callable[..., Run]:
    """``crun_idmap(tmp_path, runtime)``: a run of the id-mapping checks with ``runtime`` wrapping crun."""
    if cannot_drive("crun"):
        pytest.skip(cannot_drive("crun"))

    def run(tmp_path, runtime: str) -> Run:
        tmp_path.mkdir()
        return run_ocitest(tmp_path, "--runtime", runtime, "--profile", "crun", "--suite", "config", "-k", "idmap",
                           env={"OCITEST_REAL_RUNTIME": "crun"})

    return run


def test_a_mapping_other_than_the_one_given_is_red_on_uses_mappings_only(crun_idmap, tmp_path):
    baseline = crun_idmap(tmp_path / "crun", "crun")
    run = crun_idmap(tmp_path / "shifted", str(BAD_RUNTIMES / "mounts_idmap_shifted"))
    assert_red_on_exactly(run, baseline, {"config.mount-idmap-uses-mappings"}, "shifting the mount's mappings by one")


@needs_root_and("runc")
def test_a_mount_left_without_any_mapping_is_not_charged_to_uses_mappings(runc_on, tmp_path):
    """runc 1.1.5 accepts `idmap` and ignores it: the mount has no mapping, which breaks the sentences
    that a mapping be applied, not the one on which values it uses."""
    run = runc_on("--suite", "config", "-k", "idmap")
    assert run.report is not None, run.output[-3000:]
    outcomes = run.outcomes()
    applied = outcomes.get("config.mount-idmap-applied")
    if applied != "fail":
        pytest.skip(f"this runc applies id mappings (config.mount-idmap-applied: {applied})")
    assert outcomes.get("config.mount-idmap-uses-mappings") == "skip", outcomes


@pytest.mark.parametrize("real", ["runc", "crun"])
def test_a_runtime_unmounting_a_shared_namespace_container_at_delete_passes_where_the_real_one_fails(real, tmp_path):
    if cannot_drive(real):
        pytest.skip(cannot_drive(real))
    selection = ("--suite", "config", "-k", "host_namespace")
    (tmp_path / real).mkdir()
    (tmp_path / "fixed").mkdir()
    plain = run_ocitest(tmp_path / real, "--runtime", real, *selection)
    fixed = run_ocitest(tmp_path / "fixed", "--runtime", str(BAD_RUNTIMES / "delete_unmounts_shared_namespace"),
                        "--profile", real, *selection, env={"OCITEST_REAL_RUNTIME": real})
    assert plain.report is not None and fixed.report is not None, plain.output[-2000:] + fixed.output[-2000:]
    if plain.outcomes()["runtime.delete-removes-resources"] != "fail":
        pytest.skip(f"{real} itself removes the mounts at delete: no runtime here to show the check red")
    assert fixed.outcomes()["runtime.delete-removes-resources"] == "pass", fixed.output[-2000:]
