"""What the runtime lists in `features`, one test per listed element, and how a refusal is judged.

Every list in the Features structure ("the recognized names of ...") is a promise about
config.json, so each element gets a test id of its own: a false claim is red on exactly that
element. The lists are read when pytest collects (each xdist worker asks the runtime itself,
as the plugin's harness would) and a list the runtime does not print becomes one skipped
placeholder that says why.

"Recognize" is judged against a made-up name in the same place of config.json (the name no
runtime can know):

* accepting the element counts only if the made-up name is refused; a runtime that accepts
  anything shows nothing by accepting;
* refusing the element is "not recognized" when the refusal reads like the made-up name's
  (same text once the two names, numbers and paths are masked) or says outright that the
  element is unknown or not valid; any other refusal may be the host's (the lists include
  what "might not be supported by the host"), so it is a skip that quotes the refusal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ocitest import Bundle, Call, HarnessError, RuntimeInfo, no_features_command, probe, runtime_self_description

#: Test argument -> where its list lies in the Features structure.
LISTS: dict[str, tuple[str, ...]] = {
    "hook": ("hooks",),
    "mount_option": ("mountOptions",),
    "namespace_type": ("linux", "namespaces"),
    "capability": ("linux", "capabilities"),
    "seccomp_action": ("linux", "seccomp", "actions"),
    "seccomp_operator": ("linux", "seccomp", "operators"),
    "seccomp_arch": ("linux", "seccomp", "archs"),
    "seccomp_known_flag": ("linux", "seccomp", "knownFlags"),
    "seccomp_supported_flag": ("linux", "seccomp", "supportedFlags"),
    "memory_policy_mode": ("linux", "memoryPolicy", "modes"),
    "memory_policy_flag": ("linux", "memoryPolicy", "flags"),
}

#: Names shaped like the real ones that no runtime can know, one per kind of list.
MADE_UP = {
    "mount_option": "ocitest-no-such-option",
    "namespace_type": "ocitest-no-such-namespace",
    "seccomp_action": "SCMP_ACT_OCITEST_NO_SUCH_ACTION",
    "seccomp_operator": "SCMP_CMP_OCITEST_NO_SUCH_OPERATOR",
    "seccomp_arch": "SCMP_ARCH_OCITEST_NO_SUCH_ARCH",
    "seccomp_flag": "SECCOMP_FILTER_FLAG_OCITEST_NO_SUCH_FLAG",
    "memory_policy_mode": "MPOL_OCITEST_NO_SUCH_MODE",
    "memory_policy_flag": "MPOL_F_OCITEST_NO_SUCH_FLAG",
}

#: Words with which a runtime says it does not know a name ("invalid argument" is the kernel's
#: EINVAL, which a host that lacks a feature gives too, so it does not count).
_NOT_KNOWN = re.compile(r"\b(unknown|unrecogni[sz]ed|not (?:a )?valid|invalid (?!argument))", re.IGNORECASE)


def path_text(path: tuple[str, ...]) -> str:
    return ".".join(path)


def no_features_reason(info: RuntimeInfo) -> str:
    """The skip reason of every check when the runtime printed no Features structure."""
    absent = no_features_command(info)
    if absent or not info.features_problem:
        return absent or "the runtime has no `features` command"
    problem = re.sub(r" after \d+ ms", "", info.features_problem)
    return f"the runtime's `features` printed no Features structure ({problem}); features.schema reports that"


def collection_info(config: pytest.Config) -> RuntimeInfo | None:
    """The runtime's self-description while pytest collects (None when no runtime was given).

    The controller asked in pytest_configure; an xdist worker asks here, once, and leaves the
    answer where the harness fixture looks first, so tests run against what was collected.
    """
    return runtime_self_description(config)


def listed(info: RuntimeInfo | None, path: tuple[str, ...]) -> tuple[list[str], str]:
    """The distinct string elements of the list at ``path``, or ([], why there are none)."""
    if info is None:
        return [], "no runtime given (collected only)"
    if info.features is None:
        return [], no_features_reason(info)
    node: object = info.features
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if node is None:
        return [], f"the runtime's features do not list `{path_text(path)}`"
    if not isinstance(node, list):
        return [], f"the runtime's `{path_text(path)}` is not an array (features.schema reports that)"
    values = list(dict.fromkeys(v for v in node if isinstance(v, str)))
    if not values:
        return [], f"the runtime's `{path_text(path)}` lists no names"
    return values, ""


def parametrize_listed(metafunc: pytest.Metafunc) -> None:
    """One test per element of the list the test's argument names (see LISTS)."""
    for argname, path in LISTS.items():
        if argname not in metafunc.fixturenames:
            continue
        values, why = listed(collection_info(metafunc.config), path)
        if values:
            metafunc.parametrize(argname, values, ids=values)
        else:
            metafunc.parametrize(argname, [pytest.param(None, id="none-listed", marks=pytest.mark.skip(reason=why))])


# -- writing a config that carries a listed name --------------------------------------------------


def write_config(bundle: Bundle, off_schema: tuple[str, ...] = ()) -> None:
    """Write config.json, validated everywhere except at ``off_schema`` (schema paths such as
    ``linux/namespaces/5``): there sits the runtime's listed name, which the harness's schema
    folder may not know (a newer name, or a made-up one), while the rest is still ocitest's
    responsibility."""
    problems = [p for p in bundle.schemas.config_errors(bundle.config)
                if not any(p == place or p.startswith((f"{place}/", f"{place}:")) for place in off_schema)]
    if problems:
        raise HarnessError("ocitest generated a config.json that the runtime-spec schema rejects "
                           f"({bundle.schemas.directory}): " + "; ".join(problems[:5]))
    bundle.write(validate=False)


@dataclass
class Outcome:
    """What became of one container: accepted (created, started, program ran), or the refusing call."""

    accepted: bool
    call: Call
    output: str = ""
    #: Set when create and start worked but the program did not report: why it counts as refused.
    note: str = ""

    @property
    def text(self) -> str:
        return f"{self.call.stderr}\n{self.call.stdout}"

    def describe(self) -> str:
        return self.note or self.call.describe()


def run_program(new_container: Callable, bundle: Bundle, *lines: str, off_schema: tuple[str, ...] = ()) -> Outcome:
    """Create and start a container whose program runs ``lines`` and says it ran; wait for its end."""
    container = new_container(probe.sh(*lines, probe.say("ran", "yes")), bundle=bundle)
    write_config(bundle, off_schema)
    created = container.create(check=False, write_config=False)
    if not created.ok:
        return Outcome(False, created)
    started = container.start(check=False)
    if not started.ok:
        return Outcome(False, started)
    status = container.wait_exit()
    output = container.output()
    if probe.facts(output).get("ran") != ["yes"]:
        return Outcome(False, started, output, f"the container was created and started, but its program ({status}) "
                                               f"did not run to its end (output {output[-300:]!r})")
    return Outcome(True, started, output)


# -- judging ---------------------------------------------------------------------------------------


def _name_pattern(name: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")


def mentions(text: str, name: str) -> bool:
    return bool(_name_pattern(name).search(text))


def masked(text: str, name: str) -> str:
    """``text`` with ``name`` and everything that differs between two runs (numbers, IDs, paths) masked."""
    text = _name_pattern(name).sub("<NAME>", text)
    text = re.sub(r"0x[0-9a-fA-F]+", "0xN", text)
    return re.sub(r"\d+", "N", text).strip()


def says_unknown(text: str, name: str) -> str:
    """The line of ``text`` in which the runtime calls ``name`` unknown or not valid ("" if none)."""
    for line in text.splitlines():
        if mentions(line, name) and _NOT_KNOWN.search(line):
            return line.strip()
    return ""


def refusal_shows_not_known(element: str, refused: Outcome, made_up: str, baseline: Outcome,
                            *, need_mention: bool) -> str:
    """Why ``refused`` shows that the runtime does not know ``element`` ("" when it does not show it).

    ``need_mention``: count a refusal that reads like the made-up name's only when the runtime
    names the option in it; where the host may refuse a known name with the very same generic
    error (a tmpfs's EINVAL), two equal texts without the name prove nothing.
    """
    line = says_unknown(refused.text, element)
    if line:
        return f"the runtime says it does not know it ({line[:300]})"
    if baseline.accepted:
        return ""
    if need_mention and not mentions(baseline.text, made_up):
        return ""
    if masked(refused.text, element) == masked(baseline.text, made_up):
        said = (baseline.text.strip().splitlines() or [""])[-1].strip()
        said = said if len(said) <= 200 else "..." + said[-200:]
        return f"the runtime refuses it exactly as it refuses the made-up `{made_up}` ({said})"
    return ""


_baselines: dict[str, Outcome] = {}


def baseline(key: str, make: Callable[[], Outcome]) -> Outcome:
    """What the runtime does with a made-up name in one place of config.json, asked once per process."""
    if key not in _baselines:
        _baselines[key] = make()
    return _baselines[key]


def judge(element: str, outcome: Outcome, made_up: str, made_up_outcome: Outcome, what: str,
          *, need_mention: bool = False) -> None:
    """Pass, fail or skip the check that the runtime recognizes ``element`` (see the module docstring)."""
    if outcome.accepted:
        if made_up_outcome.accepted:
            pytest.skip(f"the runtime also accepts the made-up {what} `{made_up}`, so accepting `{element}` does not "
                        "show that it recognizes it")
        return
    reason = refusal_shows_not_known(element, outcome, made_up, made_up_outcome, need_mention=need_mention)
    if reason:
        raise AssertionError(f"{what} `{element}` is listed in features, but {reason}; the refusal: "
                             f"{outcome.describe()}")
    pytest.skip(f"the runtime refuses {what} `{element}`, though not as it refuses a name it does not know, so more "
                f"likely for a limit of this host or of its own libraries: {outcome.describe()}")
