"""A MUST whose own sentence has no RFC 2119 keyword names, in `basis`, the runtime.md sentence its level rests on.

Many config fields are described without a keyword (hostname, personality, sysctl, most cgroup files...).
Applying them is required by runtime.md#runtimeCreate ("all properties configured in config.json except
process MUST be applied"; a property the runtime cannot apply MUST be an error), and for `process` fields
by runtime.md#runtimeStart (the program MUST run as `process` specifies). The catalog says so with
``basis = [...]`` right after ``anchor``. Read from the TOML files, so this holds whatever reads them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .test_catalog import KNOWN_ANCHORS

CATALOG = Path(__file__).resolve().parent.parent / "ocitest" / "catalog"
#: The sentences a basis may name.
BASES = {"runtime.md#runtimeCreate", "runtime.md#runtimeStart"}
#: Runtime-spec MUSTs with no census sentence that need no basis: their own text has a keyword the census
#: counts apart (a field-presence REQUIRED of the state), or no config property is behind them.
NO_BASIS = {
    "runtime.state-pid": "state `pid` is REQUIRED when created or running (a field-presence keyword)",
    "runtime.state-bundle": "state `bundle` is REQUIRED (a field-presence keyword)",
    "runtime.state-annotations": "state `annotations` are those of the config (RT-005's neighbour, a state field)",
    "runtimelinux.fds-stdio-only": "runtime-linux.md's file-descriptor default is not a config property",
    "features.schema": "features.md's document format, not a config property",
    "config.terminal-console-socket": "the console socket is the command-line document's, not a config property",
}


def entries() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(CATALOG.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        found += [(data["document"]["name"], entry) for entry in data.get("requirement", [])]
    return found


def test_each_basis_names_a_runtime_md_sentence_and_sits_after_anchor():
    for path in sorted(CATALOG.glob("*.toml")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if line.startswith("basis"):
                assert lines[number - 1].startswith("anchor = "), f"{path.name}:{number + 1}: basis not after anchor"
    for _, entry in entries():
        for basis in entry.get("basis", []):
            document, _, anchor = basis.partition("#")
            assert basis in BASES, f"{entry['id']}: basis {basis} is not one of {sorted(BASES)}"
            assert anchor in KNOWN_ANCHORS[document], f"{entry['id']}: {basis} is not an anchor of {document}"
        if entry.get("basis"):
            assert entry["level"] == "MUST", f"{entry['id']}: only a MUST rests on runtime.md's MUSTs"


def test_a_keywordless_must_names_its_basis():
    process_field = re.compile(r"config\.(process|capabilities|no-new|apparmor|selinux|io-prio|scheduler|user-"
                               r"|terminal|console)")
    missing, not_start = [], []
    for document, entry in entries():
        # The side scopes' documents (runtime-tools' CLI, runc's manual) set their own levels.
        if (document in ("command-line-interface.md", "runc-compatibility") or entry["level"] != "MUST"
                or entry.get("census")):
            continue
        if entry["id"] in NO_BASIS:
            assert not entry.get("basis"), f"{entry['id']} is listed as needing no basis, yet has one"
            continue
        if not entry.get("basis"):
            missing.append(entry["id"])
        elif process_field.match(entry["id"]) and "runtime.md#runtimeStart" not in entry["basis"]:
            not_start.append(entry["id"])
    assert not missing, f"MUSTs with no census sentence and no basis: {missing}"
    assert not not_start, f"process fields are applied by start; their basis lacks runtime.md#runtimeStart: {not_start}"
