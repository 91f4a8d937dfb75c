"""scripts/vm's parts that need no VM: the shell scripts parse, the runs are the ones documented, the
image is keyed on its recipe, and an unprivileged user is told to run it as root.

The VM itself runs in CI through scripts/vm-ci (scripts/test's last job), where each run's report is
checked for harness errors.
"""

import importlib.machinery
import importlib.util
import subprocess
import sys

import pytest

from .conftest import ROOT

VM = ROOT / "scripts" / "vm"


def load_vm():
    loader = importlib.machinery.SourceFileLoader("scripts_vm", str(VM))
    spec = importlib.util.spec_from_loader("scripts_vm", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["scripts_vm"] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


def test_the_shell_scripts_parse():
    for shell, script in (("sh", "vm/guest.sh"), ("bash", "vm/image.sh"), ("bash", "scripts/vm-ci")):
        out = subprocess.run([shell, "-n", str(ROOT / script)], capture_output=True, text=True)
        assert out.returncode == 0, f"{script}: {out.stderr}"


def test_the_ci_runs_are_the_four_runtimes_and_the_misbehaving_check():
    vm = load_vm()
    assert vm.DEFAULT_RUNS == ("runc", "runc-systemd", "crun", "runc-rootless", "misbehaving")
    assert {vm.RUNS[name].mode for name in vm.DEFAULT_RUNS} == {"root", "rootless", "tests"}
    assert "--cgroup-driver" in vm.RUNS["runc-systemd"].args
    documented = (ROOT / "docs" / "vm.md").read_text()
    assert all(f"`{name}`" in documented for name in vm.DEFAULT_RUNS)


def test_the_image_is_keyed_on_its_recipe(tmp_path, monkeypatch):
    vm = load_vm()
    key = vm.recipe_key()
    assert key == vm.recipe_key()
    copy = tmp_path / "vm"
    copy.mkdir()
    (copy / "image.sh").write_text((ROOT / "vm" / "image.sh").read_text() + "\n# changed\n")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    monkeypatch.setattr(vm, "ROOT", tmp_path)
    assert vm.recipe_key() != key


def test_an_unprivileged_user_is_told_to_run_it_as_root(monkeypatch, capsys):
    vm = load_vm()
    monkeypatch.setattr(vm.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sys, "argv", ["scripts/vm", "--run", "runc"])
    with pytest.raises(SystemExit) as exited:
        vm.main()
    assert exited.value.code == 2
    assert "run as root" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--help"], ["--run", "nosuch"]])
def test_usage(args):
    out = subprocess.run([sys.executable, str(VM), *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == (0 if args == ["--help"] else 2), out.stderr
    if args == ["--help"]:
        assert "runc-rootless" in out.stdout
