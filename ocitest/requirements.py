"""The requirement catalog: what ocitest checks, at which level, with which spec reference.

Loaded from ``ocitest/catalog/*.toml`` (one file per spec document) so that other tools can
read it too (``ocitest requirements --json``). A suite test names the requirements it checks
with ``@requirement("ID", ...)``; an unknown ID is a collection error.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources

from .specversion import RELEASES

LEVELS = ("MUST", "SHOULD", "MAY")
#: Requirement.sandbox_view's values.
SANDBOX_VIEWS = ("", "inside", "host")

#: The verdict scope of every document but one: the runtime-spec's releases.
RUNTIME_SPEC = "runtime-spec"
#: runtime-tools' command-line-interface document: its own text and version, judged apart.
CLI = "command-line-interface"
#: runc's command line beyond the lifecycle, as container engines call it: runc's manual is its text.
RUNC_COMPAT = "runc-compatibility"
#: Documents whose requirements are not the runtime-spec's, by file name.
SCOPE_OF_DOCUMENT = {"command-line-interface.md": CLI, "runc-compatibility": RUNC_COMPAT}
#: The scopes judged apart from the runtime-spec, each at its own document's version, in report order.
SIDE_SCOPES = (CLI, RUNC_COMPAT)


@dataclass(frozen=True)
class Change:
    """A change of a requirement's wording, in a later release, that changes what is checked."""

    version: str
    note: str


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
    #: The first release whose text makes the requirement (for the command-line document: its own
    #: version). Judged at an older release, the requirement is not applicable. None: not yet known.
    since: str | None = None
    #: Later wording changes that change what is checked.
    changes: tuple[Change, ...] = ()
    #: Further sentences (``runtime.md#runtimeCreate``) the requirement's level rests on, e.g. the
    #: MUST that makes a keyword-less field binding; resolved with ``basis_references``.
    basis: tuple[str, ...] = ()
    #: ``runtime-spec``, or one of ``SIDE_SCOPES``.
    scope: str = RUNTIME_SPEC
    #: For a document spread over several files (runc's manual): the requirement's file, which
    #: ``reference`` points into; ``group`` then names its section (the command) instead of ``anchor``.
    page: str = ""
    group: str = ""
    #: The container engines whose calls rely on the requirement (runc-compatibility).
    engines: tuple[str, ...] = ()
    #: Where the requirement is judged for a sandboxed runtime (gVisor, Kata; view.py): "inside" (the
    #: program's own account of what it has), "host" (the host side: the sandbox's cgroup, the bundle,
    #: hooks in the runtime namespace, the state pid); "" when it is about what the caller sees of the
    #: runtime (its commands, state, exit status), the same for every runtime.
    sandbox_view: str = ""
    #: False for a requirement deliberately left without a test; ``why`` says why.
    covered: bool = True
    why: str = ""

    @property
    def section(self) -> str:
        """``runtime.md#runtimeState``: how the report groups requirements (``runc-compatibility#exec``)."""
        return f"{self.document}#{self.group or self.anchor}"

    @property
    def basis_references(self) -> tuple[str, ...]:
        """``basis`` as URLs: the same release's base with the file name swapped (``…/v1.3.0/runtime.md#x``)."""
        folder = self.reference.split("#", 1)[0].rsplit("/", 1)[0]
        return tuple(f"{folder}/{item}" for item in self.basis)

    def to_json(self) -> dict:
        data = asdict(self)
        data["census"] = list(self.census)
        data["runtime_tools"] = list(self.runtime_tools)
        data["changes"] = [asdict(change) for change in self.changes]
        data["basis"] = list(self.basis)
        data["basis_references"] = list(self.basis_references)
        data["engines"] = list(self.engines)
        return data


@dataclass
class Catalog:
    requirements: dict[str, Requirement] = field(default_factory=dict)
    #: The version of each scope's text the catalog is written against (runtime-spec 1.3.0, the CLI document 1.0.1).
    versions: dict[str, str] = field(default_factory=dict)

    def __contains__(self, rid: str) -> bool:
        return rid in self.requirements

    def __getitem__(self, rid: str) -> Requirement:
        return self.requirements[rid]

    def __iter__(self):
        return iter(self.requirements.values())

    def __len__(self) -> int:
        return len(self.requirements)


def parse_document(text: str) -> list[Requirement]:
    return _requirements(tomllib.loads(text))


def _scope(document: dict) -> str:
    return SCOPE_OF_DOCUMENT.get(document["name"], RUNTIME_SPEC)


def _requirements(data: dict) -> list[Requirement]:
    """The requirements of one parsed catalog file."""
    doc = data["document"]
    scope = _scope(doc)
    found = []
    for entry in data.get("requirement", []):
        found.append(Requirement(
            id=entry["id"],
            level=entry["level"],
            document=doc["name"],
            anchor=entry["anchor"],
            reference=(f"{entry.get('base', doc['base'])}/{entry['page']}#{entry['anchor']}" if entry.get("page")
                       else f"{doc['base']}#{entry['anchor']}"),
            summary=entry["summary"],
            census=tuple(entry.get("census", ())),
            runtime_tools=tuple(entry.get("runtime_tools", ())),
            since=entry.get("since"),
            changes=tuple(Change(str(c["version"]), str(c["note"])) for c in entry.get("changes", ())),
            basis=tuple(entry.get("basis", ())),
            scope=scope,
            covered=entry.get("covered", True),
            why=entry.get("why", ""),
            page=entry.get("page", ""),
            group=entry.get("group", ""),
            engines=tuple(entry.get("engines", ())),
            sandbox_view=entry.get("sandbox_view", ""),
        ))
    return found


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    catalog = Catalog()
    for file in sorted(resources.files("ocitest.catalog").iterdir(), key=lambda f: f.name):
        if not file.name.endswith(".toml"):
            continue
        data = tomllib.loads(file.read_text())
        document = data["document"]
        if document.get("spec_version"):
            catalog.versions.setdefault(_scope(document), str(document["spec_version"]))
        for req in _requirements(data):
            if req.id in catalog.requirements:
                raise ValueError(f"duplicate requirement ID {req.id} in {file.name}")
            if req.sandbox_view not in SANDBOX_VIEWS:
                raise ValueError(f"{req.id}: sandbox_view {req.sandbox_view!r} is not one of {SANDBOX_VIEWS}")
            if req.level not in LEVELS:
                raise ValueError(f"{req.id}: level {req.level!r} is not one of {LEVELS}")
            _check_versions(req)
            catalog.requirements[req.id] = req
    return catalog


def _check_versions(req: Requirement) -> None:
    """A runtime-spec requirement's ``since`` and ``changes`` name releases; the CLI document's, x.y.z versions."""
    versions = [v for v in (req.since, *(c.version for c in req.changes)) if v is not None]
    for version in versions:
        ok = version in RELEASES if req.scope == RUNTIME_SPEC else re.fullmatch(r"\d+\.\d+\.\d+", version)
        if not ok:
            raise ValueError(f"{req.id}: version {version!r} is not a {req.scope} release")
