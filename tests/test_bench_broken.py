"""bench/broken_runtimes.py (issue 13's benchmark) can be started: it parses its options and every
broken runtime it names is there and executable. No runtime runs: the benchmark itself takes minutes
to hours and is run by hand."""

import importlib.util
import os
import sys

import pytest

from .conftest import ROOT


def load():
    """The script as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("broken_runtimes", ROOT / "bench" / "broken_runtimes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_options_parse():
    bench = load()
    args = bench.parse(["--cap", "150", "--only", "start_hangs", "--only", "create_does_nothing",
                        "--suite", "runtime", "--json", "out.json"])
    assert (args.cap, args.only, args.suite, args.json) == (150.0, ["start_hangs", "create_does_nothing"],
                                                          ["runtime"], "out.json")
    defaults = bench.parse([])
    assert (defaults.cap, defaults.only, defaults.suite, defaults.json) == (None, [], [], None)


def test_an_unknown_wrapper_is_refused():
    with pytest.raises(SystemExit):
        load().parse(["--only", "no_such_runtime"])


def test_every_wrapper_exists_and_is_executable():
    bench = load()
    issue_13 = {"start_does_nothing", "start_hangs", "kill_does_nothing", "delete_does_nothing",
                "state_unknown_succeeds", "state_always_created", "create_does_nothing"}
    assert issue_13 <= set(bench.WRAPPERS)
    for name in bench.WRAPPERS:
        path = bench.wrapper_path(name)
        assert path.is_file() and os.access(path, os.X_OK), path
