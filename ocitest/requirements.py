"""The requirement catalog: what ocitest checks, at which level, with which spec reference.

Loaded from ``ocitest/catalog/*.toml`` (one file per spec document) so that other tools can
read it too (``ocitest requirements --json``). A suite test names the requirements it checks
with ``@requirement("ID", ...)``; an unknown ID is a collection error.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources

LEVELS = ("MUST", "SHOULD", "MAY")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    document: str
    anchor: str
    reference: str
    summary: str
    census: tuple[str, ...] = ()
    runtime_tools: tuple[str, ...] = ()
    #: The spec version that introduced the current wording, when newer than v1.0.2.
    since: str | None = None
    #: False for a requirement deliberately left without a test; ``why`` says why.
    covered: bool = True
    why: str = ""

    @property
    def section(self) -> str:
        """``runtime.md#runtimeState``: how the report groups requirements."""
        return f"{self.document}#{self.anchor}"

    def to_json(self) -> dict:
        data = asdict(self)
        data["census"] = list(self.census)
        data["runtime_tools"] = list(self.runtime_tools)
        return data


@dataclass
class Catalog:
    requirements: dict[str, Requirement] = field(default_factory=dict)

    def __contains__(self, rid: str) -> bool:
        return rid in self.requirements

    def __getitem__(self, rid: str) -> Requirement:
        return self.requirements[rid]

    def __iter__(self):
        return iter(self.requirements.values())

    def __len__(self) -> int:
        return len(self.requirements)


def parse_document(text: str) -> list[Requirement]:
    data = tomllib.loads(text)
    doc = data["document"]
    found = []
    for entry in data.get("requirement", []):
        found.append(Requirement(
            id=entry["id"],
            level=entry["level"],
            document=doc["name"],
            anchor=entry["anchor"],
            reference=f"{doc['base']}#{entry['anchor']}",
            summary=entry["summary"],
            census=tuple(entry.get("census", ())),
            runtime_tools=tuple(entry.get("runtime_tools", ())),
            since=entry.get("since"),
            covered=entry.get("covered", True),
            why=entry.get("why", ""),
        ))
    return found


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    catalog = Catalog()
    for file in sorted(resources.files("ocitest.catalog").iterdir(), key=lambda f: f.name):
        if not file.name.endswith(".toml"):
            continue
        for req in parse_document(file.read_text()):
            if req.id in catalog.requirements:
                raise ValueError(f"duplicate requirement ID {req.id} in {file.name}")
            if req.level not in LEVELS:
                raise ValueError(f"{req.id}: level {req.level!r} is not one of {LEVELS}")
            catalog.requirements[req.id] = req
    return catalog
