"""The facts of the spec census that the coverage tests need, kept in this repository.

The census (``spec-census.md``, in the project's shared folder beside the checkout, not in it) lists
runtime-spec v1.3.0's normative sentences. The coverage tests in test_catalog.py only need, per
runtime-bound sentence, its census ID, the section it sits in, its level and its binding, and the
census's own count per document: those facts live in ``census_facts.toml`` so the tests run in a clone
that has only this repository. This module reads that file, and makes it again from the census:

    python -m tests.census ../shared/spec-census.md    # rewrites tests/census_facts.toml

test_catalog.py checks that the file still matches the census whenever the census is there.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
FACTS = HERE / "census_facts.toml"
#: Where the census sits in the project's layout: the shared folder beside the checkout.
CENSUS = HERE.parent.parent / "shared" / "spec-census.md"

#: The census's chapters that list runtime-bound sentences: heading prefix -> does the table have a
#: binding column (Appendix A lists only runtime-bound sentences, so it has none).
CHAPTERS = {"## 2.": True, "## Appendix A": False, "## Appendix B": True}
#: Appendix B holds both features documents in one table; the ID prefix tells them apart.
FEATURES_DOCUMENT = {"FE": "features.md", "FL": "features-linux.md"}
ID = re.compile(r"[A-Z]{2}-\d{3}")


@dataclass(frozen=True)
class Sentence:
    """One normative sentence as the census files it."""

    id: str
    #: The section anchor, or ``anchor/heading-slug`` under a heading without one.
    section: str
    level: str
    #: R runtime, C config author, K caller, O other (the census's binding letters).
    binding: str

    @property
    def runtime_bound(self) -> bool:
        return self.binding == "R" and self.level in ("MUST", "SHOULD")


@dataclass(frozen=True)
class Facts:
    #: document -> census ID -> sentence
    sentences: dict[str, dict[str, Sentence]]
    #: document -> the census's count of runtime-bound MUST and SHOULD sentences in it
    runtime_bound: dict[str, int]

    def runtime_bound_ids(self, document: str) -> set[str]:
        return {s.id for s in self.sentences.get(document, {}).values() if s.runtime_bound}


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse(text: str) -> Facts:
    """The facts of the census text (its tables of sections 1.1 and 2, and Appendices A and B)."""
    sentences: dict[str, dict[str, Sentence]] = {}
    runtime_bound: dict[str, int] = {}
    chapter, document = "", ""
    for line in text.splitlines():
        if line.startswith("## "):
            chapter, document = line, ""
        elif line.startswith("### "):
            document = line[4:].strip()
        if not line.startswith("|"):
            continue
        row = cells(line)
        if chapter.startswith("## 1.") and document.startswith("1.1") and row[0].endswith(".md"):
            runtime_bound[row[0]] = int(row[-1])
            continue
        with_binding = next((b for prefix, b in CHAPTERS.items() if chapter.startswith(prefix)), None)
        if with_binding is None or not ID.fullmatch(row[0]):
            continue
        if with_binding:
            sentence = Sentence(row[0], row[1], row[2], row[3])
        else:
            sentence = Sentence(row[0], row[1], row[3], "R")
        doc = FEATURES_DOCUMENT.get(row[0][:2], document) if chapter.startswith("## Appendix B") else document
        sentences.setdefault(doc, {})[sentence.id] = sentence
    return Facts(sentences, runtime_bound)


def render(facts: Facts) -> str:
    lines = [
        "# Facts of the runtime-spec v1.3.0 census (shared/spec-census.md) for the coverage tests in",
        "# test_catalog.py: per runtime-bound sentence its census ID, section, level and binding; per",
        "# document the census's count of runtime-bound MUST and SHOULD sentences.",
        "# Made by `python -m tests.census PATH-TO-spec-census.md`; do not edit by hand.",
        "",
        "[runtime_bound]",
        *(f'"{doc}" = {n}' for doc, n in facts.runtime_bound.items()),
    ]
    for doc, found in facts.sentences.items():
        lines += ["", f'[sentences."{doc}"]']
        lines += [f'{s.id} = {{ section = "{s.section}", level = "{s.level}", binding = "{s.binding}" }}'
                  for s in found.values()]
    return "\n".join(lines) + "\n"


def load(path: Path = FACTS) -> Facts:
    data = tomllib.loads(path.read_text())
    sentences = {doc: {cid: Sentence(cid, **fields) for cid, fields in found.items()}
                 for doc, found in data["sentences"].items()}
    return Facts(sentences, dict(data["runtime_bound"]))


def main(argv: list[str]) -> int:
    census = Path(argv[0]) if argv else CENSUS
    if not census.exists():
        print(f"usage: python -m tests.census PATH-TO-spec-census.md ({census} does not exist)", file=sys.stderr)
        return 2
    FACTS.write_text(render(parse(census.read_text())))
    print(f"wrote {FACTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
