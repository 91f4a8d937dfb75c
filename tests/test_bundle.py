"""The bundle's record of what was made for its container, and the templates it starts from.

Clean-up follows from the record (a cgroupsPath asked for, things held on the host), so these
check the record and its undoing without a runtime: a runtime that knows no container is enough.
"""

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from ocitest import cgroupdriver
from ocitest.bundle import Bundle, BundleFactory
from ocitest.cgroupdriver import CgroupDriver
from ocitest.cgroupdriver import choose as choose_driver
from ocitest.config import EXCHANGE_DIR, default_config
from ocitest.container import Container, LiveContainers, Timeouts, new_container_id
from ocitest.errors import EnvironmentProblem, HarnessError
from ocitest.host import cgroup_dirs, cgroup_mounts, remove_cgroup_tree
from ocitest.profile import load_profile
from ocitest.runtime import Runtime
from ocitest.templates import template_file


def bare_bundle(tmp_path: Path) -> Bundle:
    (tmp_path / "exchange").mkdir()
    return Bundle(tmp_path, default_config("1.0.2", str(tmp_path / "exchange")), tmp_path / "exchange", None)


def test_the_default_config_is_the_template_plus_the_exchange_mount():
    template = json.loads(template_file("config.json").read_text())
    config = default_config("1.2.0", "/host/exchange")
    exchange = config["mounts"].pop()
    assert exchange == {"destination": EXCHANGE_DIR, "type": "bind", "source": "/host/exchange",
                        "options": ["rbind", "rw"]}
    assert config == {**template, "ociVersion": "1.2.0"}


def test_each_capability_set_is_its_own_list_and_none_asks_for_ambient():
    """A check that adds a capability to one set changes that set only (they were once one shared list).

    No ambient set (nor inheritable), as `runc spec` writes: ambient without inheritable cannot be raised.
    """
    sets = default_config("1.0.2", "/e")["process"]["capabilities"]
    assert sorted(sets) == ["bounding", "effective", "permitted"]
    sets["bounding"].append("CAP_SYS_ADMIN")
    assert all("CAP_SYS_ADMIN" not in sets[name] for name in sets if name != "bounding")
    fresh = default_config("1.0.2", "/e")["process"]["capabilities"]
    assert "CAP_SYS_ADMIN" not in fresh["bounding"], "an edit reached the template"


def test_a_cgroups_path_is_set_and_recorded(tmp_path):
    bundle = bare_bundle(tmp_path)
    path = bundle.use_cgroups_path("ocitest-1-2/inner")
    assert bundle.config["linux"]["cgroupsPath"] == path == "ocitest-1-2/inner"
    bundle.use_cgroups_path("/ocitest-1-3")
    assert bundle.cgroups_paths == ["ocitest-1-2/inner", "/ocitest-1-3"]
    assert bundle.own_cgroup_names() == {"ocitest-1-2", "ocitest-1-3"}


@pytest.mark.parametrize("path", ["/system.slice/x", "/", "user.slice"])
def test_a_cgroups_path_the_harness_does_not_own_is_refused(tmp_path, path):
    with pytest.raises(HarnessError):
        bare_bundle(tmp_path).use_cgroups_path(path)


def test_removing_the_bundle_undoes_what_it_holds_last_first_then_deletes_it(tmp_path):
    undone = []

    @contextmanager
    def thing(name):
        yield name
        undone.append((name, (tmp_path / "b").exists()))

    folder = tmp_path / "b"
    folder.mkdir()
    bundle = Bundle(folder, {}, folder, None)
    assert bundle.hold(thing("first")) == "first"
    bundle.hold(thing("second"))
    BundleFactory.remove(bundle)
    assert undone == [("second", True), ("first", True)]
    assert not folder.exists()


@pytest.mark.skipif(os.geteuid() != 0 or not cgroup_mounts(), reason="needs root and a cgroup hierarchy")
def test_container_remove_takes_away_the_cgroup_its_bundle_asked_for(tmp_path):
    bundle = bare_bundle(tmp_path)
    path = bundle.use_cgroups_path(f"/{new_container_id()}/inner")
    point = cgroup_mounts()[0]
    (point / path.strip("/")).mkdir(parents=True)  # what a runtime would have left
    top = point / path.strip("/").split("/")[0]
    container = Container(Runtime("false"), bundle, LiveContainers(), Timeouts(runtime=5, wait=5))
    try:
        assert cgroup_dirs(path)
        container.remove()
        assert not cgroup_dirs(path) and not top.exists()
    finally:
        remove_cgroup_tree(top)  # the test's own leftover, should remove() not have done it


def test_the_systemd_driver_writes_slice_prefix_name_and_knows_where_the_scope_lands(tmp_path):
    bundle = bare_bundle(tmp_path)
    bundle.cgroup_driver = CgroupDriver("systemd")
    value = bundle.use_cgroups_path("/ocitest-1-2/inner")
    assert bundle.config["linux"]["cgroupsPath"] == value == "system.slice:ocitest:1-2-inner"
    assert bundle.cgroup_landing("/ocitest-1-2/inner") == "system.slice/ocitest-1-2-inner.scope"
    assert bundle.own_cgroup_names() == {"system.slice/ocitest-1-2-inner.scope"}


def test_a_rootless_run_puts_absolute_paths_below_its_delegated_cgroup(tmp_path):
    bundle = bare_bundle(tmp_path)
    bundle.cgroup_driver = CgroupDriver("cgroupfs", "/user.slice/u.service")
    assert bundle.use_cgroups_path("/ocitest-1-2/inner") == "/user.slice/u.service/ocitest-1-2/inner"
    assert bundle.use_cgroups_path("ocitest-1-3") == "ocitest-1-3"  # relative: where the runtime starts it
    assert bundle.cgroup_landing("/ocitest-1-2/inner") == "user.slice/u.service/ocitest-1-2/inner"
    assert bundle.cgroup_landing("ocitest-1-3") is None
    assert bundle.own_cgroup_names() == {"user.slice/u.service/ocitest-1-2", "ocitest-1-3"}


def test_the_cgroup_driver_is_chosen_from_the_option_or_the_runtime_args(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroupdriver, "SYSTEMD_RUNNING", tmp_path)  # as if systemd ran here
    runc = load_profile("runc")
    assert choose_driver(None, runc, ["--root=/r"]) == ("cgroupfs", ["--root=/r"])
    assert choose_driver("systemd", runc, ["--root=/r"]) == ("systemd", ["--root=/r", "--systemd-cgroup"])
    assert choose_driver(None, runc, ["--systemd-cgroup"]) == ("systemd", ["--systemd-cgroup"])
    for requested, profile, args, words in (
            ("cgroupfs", runc, ["--systemd-cgroup"], "choose one"),
            ("systemd", load_profile("runsc"), [], "names no option"),
    ):
        with pytest.raises(EnvironmentProblem, match=words):
            choose_driver(requested, profile, args)
    with pytest.raises(EnvironmentProblem, match="rootless"):
        choose_driver("systemd", runc, [], rootless=True)


def test_the_systemd_driver_needs_systemd(monkeypatch, tmp_path):
    monkeypatch.setattr(cgroupdriver, "SYSTEMD_RUNNING", tmp_path / "none")
    with pytest.raises(EnvironmentProblem, match="does not run systemd"):
        choose_driver("systemd", load_profile("runc"), [])
