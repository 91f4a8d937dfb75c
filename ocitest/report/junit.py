"""JUnit XML (``ocitest run --junit FILE``): pytest's own ``--junitxml``, plus requirement properties.

pytest writes the XML; ocitest only adds, to every test case, plain string ``<property>``
elements naming the requirement(s) the test checks, their level and their spec link, so a CI
system that shows JUnit properties (Jenkins, GitLab, Azure) shows which requirement a red test
breaks without opening the JSON report.

pytest copies every ``user_properties`` pair of a test's report into the XML as
``str(value)``; only short strings belong there. ``ocitest run`` picks ``junit_family=xunit1``
(``FAMILY``): properties inside ``<testcase>`` are part of that schema, not of xunit2's.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..requirements import RUNTIME_SPEC, Catalog
from ..specversion import applies

#: The junit_family ``ocitest run --junit`` asks pytest for (see the module docstring).
FAMILY = "xunit1"


def properties(ids: Iterable[str], catalog: Catalog, version: str | None = None) -> list[tuple[str, str]]:
    """``(name, value)`` pairs for one test: requirement, level, reference, per requirement in order.

    Then, where they apply: ``scope`` (a requirement of the command-line document, outside the
    runtime-spec verdict), ``basis`` (each further sentence the level rests on), ``since``, and
    ``not_applicable_at`` (the judged runtime-spec ``version`` is older than the requirement: a
    failing test case of it counts for nothing in the verdict). A requirement ID the catalog
    does not know (collection turns that into an error before any test runs, so only a stray
    caller meets it) still gets its ``requirement`` property.
    """
    pairs: list[tuple[str, str]] = []
    for rid in ids:
        pairs.append(("requirement", rid))
        if rid not in catalog:
            continue
        req = catalog[rid]
        pairs += [("level", req.level), ("reference", req.reference)]
        if req.scope != RUNTIME_SPEC:
            pairs.append(("scope", req.scope))
        pairs += [("basis", url) for url in req.basis_references]
        if req.since:
            pairs.append(("since", req.since))
        if version and req.scope == RUNTIME_SPEC and not applies(req.since, version):
            pairs.append(("not_applicable_at", version))
    return pairs
