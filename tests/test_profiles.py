"""Runtime profiles: every data file loads, the guess picks the right one, a bad name is one line."""

import subprocess
import sys

import pytest

from ocitest.errors import EnvironmentProblem
from ocitest.profile import available, guess_profile, load_profile
from ocitest.runtime import Runtime


def test_every_profile_file_loads_and_is_named_after_its_file():
    names = available()
    assert {"generic", "runc", "crun", "runsc", "youki", "kata-runtime", "document"} <= set(names)
    for name in names:
        assert load_profile(name).name == name


@pytest.mark.parametrize("path, version, expected", [
    ("/usr/sbin/runc", "runc version 1.1.5", "runc"),
    ("/usr/bin/crun", "crun version 1.8.1", "crun"),
    ("/usr/bin/runsc", "runsc version 0.0~20221219.0", "runsc"),
    ("/opt/bin/my-runc-build", "runc version 1.2.0", "runc"),  # by --version when the name says nothing
    ("/opt/bin/somethingelse", "whatever 1.0", "generic"),
])
def test_the_profile_is_guessed_from_the_name_then_the_version(path, version, expected):
    profile = guess_profile(path, version)
    assert profile.name == expected and profile.guessed


def test_an_unknown_profile_is_an_environment_problem_naming_the_known_ones():
    with pytest.raises(EnvironmentProblem, match="unknown profile 'nope': choose one of .*runc"):
        load_profile("nope")


def test_an_unknown_profile_on_the_command_line_is_one_line_and_exit_2():
    proc = subprocess.run([sys.executable, "-m", "ocitest.cli", "doctor",
                           "--runtime", "/bin/true", "--profile", "nope"],
                          capture_output=True, text=True, timeout=60)
    if "must run as root" in proc.stderr:
        pytest.skip("needs root")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "unknown profile 'nope'" in proc.stderr


def test_the_profile_global_options_come_first_and_are_not_repeated():
    runsc = load_profile("runsc")
    assert runsc.runtime_args(["--debug"]) == ["--network=none", "--debug"]
    assert runsc.runtime_args(["--network=none"]) == ["--network=none"]


def test_kill_speaks_the_dialect_of_the_profile():
    positional = Runtime("/bin/true", kill_signal=load_profile("runc").kill_signal)
    option = Runtime("/bin/true", kill_signal=load_profile("document").kill_signal)
    positional.kill("c1", "KILL")
    option.kill("c1", "KILL")
    option.kill("c1", None)
    assert positional.calls[0].argv[1:] == ["kill", "c1", "KILL"]
    assert option.calls[0].argv[1:] == ["kill", "--signal", "KILL", "c1"]
    assert option.calls[1].argv[1:] == ["kill", "c1"]
