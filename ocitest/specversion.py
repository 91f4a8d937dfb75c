"""Which runtime-spec release a run judges against, and why.

A runtime is judged against the release it says it implements, not against the newest one: a
requirement that appeared in a later release is not something that runtime promised. What it
declares comes from ``features`` (``ociVersionMax``), else from the ``spec:`` line of
``--version``; ``--spec-version`` overrides both. Declarations are often not release tags
(runc 1.1.5 says ``1.0.2-dev``), so they are read as the release they name, and a version that
is no release maps to the newest release not newer than it; the report says which happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The runtime-spec releases ocitest can judge against, oldest first.
RELEASES = ("1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.2.0", "1.2.1", "1.3.0")
NEWEST = RELEASES[-1]

#: ``basis`` of a judged version: where it came from.
DECLARED, OPTION, NOT_DECLARED = "declared", "option", "not declared"

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+~.][0-9A-Za-z.+~-]*)?")


def version_key(version: str) -> tuple[int, ...]:
    """``"1.2.1"`` -> ``(1, 2, 1)``, for ordering versions (no suffix allowed)."""
    return tuple(int(part) for part in version.split("."))


def applies(since: str | None, version: str) -> bool:
    """Whether a requirement whose text dates from ``since`` binds a runtime judged at ``version``.

    A requirement without ``since`` (the catalog does not say) applies at every version.
    """
    return since is None or version_key(since) <= version_key(version)


@dataclass(frozen=True)
class Reading:
    """A declared version read as a release: ``release`` is None when nothing release-like was declared."""

    release: str | None
    #: What a reader needs to know about the reading ("" when the declaration is a release tag as such).
    note: str = ""


def read_declared(declared: str | None) -> Reading:
    """The release a declared version names.

    ``1.0.2-dev`` and ``1.1.0+dev`` (pre-release and build suffixes) name 1.0.2 and 1.1.0; ``1.0.3``
    is no release, so it maps to the newest release not newer than it (1.0.2); a version older
    than every release maps to the oldest; anything else is no declaration at all.
    """
    text = (declared or "").strip()
    match = _VERSION.fullmatch(text)
    if not match:
        return Reading(None, f"{text!r} is not a version" if text else "")
    named = ".".join(str(int(part)) for part in match.groups())
    suffix = "" if named == text else f"{text} read as {named}"
    if named in RELEASES:
        return Reading(named, suffix)
    older = [r for r in RELEASES if version_key(r) <= version_key(named)]
    release = older[-1] if older else RELEASES[0]
    why = ("the newest release not newer than it" if older else "older than every release: the oldest")
    return Reading(release, f"{text} is not a runtime-spec release; judged at {release}, {why}")


@dataclass(frozen=True)
class JudgedVersion:
    """The runtime-spec release a run is judged against, and why that one."""

    version: str
    #: ``declared`` (what the runtime says), ``option`` (``--spec-version``) or ``not declared`` (the newest).
    basis: str
    #: The runtime's own words, as declared (``1.0.2-dev``), or None.
    declared: str | None = None
    #: Where the declaration was read: ``features ociVersionMax`` or ``--version spec line``.
    declared_by: str | None = None
    note: str = ""

    @property
    def label(self) -> str:
        """How the verdict line names the basis: ``declared``, ``--spec-version``, ``not declared: newest``."""
        return {OPTION: "--spec-version", NOT_DECLARED: "not declared: newest"}.get(self.basis, self.basis)

    def explain(self) -> str:
        """One line for the preflight and ``doctor``: the version and why."""
        said = f"{self.declared_by} says {self.declared}" if self.declared else "the runtime declares no version"
        if self.basis == OPTION:
            why = f"chosen with --spec-version ({said})"
        elif self.basis == DECLARED:
            why = f"declared: {said}"
        else:
            why = f"not declared ({said}): the newest release"
        return f"runtime-spec {self.version}, {why}" + (f"; {self.note}" if self.note else "")

    def to_json(self) -> dict:
        return {"declared": self.declared, "declared_by": self.declared_by, "note": self.note}


def judged_version(*, option: str | None, features_max: str | None, version_spec: str | None) -> JudgedVersion:
    """The version a run judges against: ``--spec-version``, else the declaration, else the newest release."""
    declared, declared_by = None, None
    if features_max:
        declared, declared_by = str(features_max), "features ociVersionMax"
    elif version_spec:
        declared, declared_by = version_spec, "--version spec line"
    if option:
        if option not in RELEASES:
            raise ValueError(f"--spec-version {option}: not a runtime-spec release ({', '.join(RELEASES)})")
        return JudgedVersion(option, OPTION, declared, declared_by)
    reading = read_declared(declared)
    if reading.release is None:
        return JudgedVersion(NEWEST, NOT_DECLARED, declared, declared_by, reading.note)
    return JudgedVersion(reading.release, DECLARED, declared, declared_by, reading.note)
