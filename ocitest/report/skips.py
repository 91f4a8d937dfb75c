"""``ocitest doctor``'s "what will be skipped" section, as text lines."""

from __future__ import annotations

import textwrap

from ..skipplan import SkipPlan

_INDENT = " " * 11


def lines(plan: SkipPlan, width: int = 100) -> list[str]:
    """By reason (most tests first): the reason, then the requirements it touches and the test count."""
    out = [f"skips:     {plan.skipped} of {plan.collected} tests will be skipped on this host with this runtime"
           + (":" if plan.groups else "")]
    for group in plan.groups:
        count = f"{len(group.tests)} test{'s' if len(group.tests) != 1 else ''}"
        out.append(f"{_INDENT}- {group.reason}")
        ids = ", ".join(group.requirements) or "(no requirement)"
        out += textwrap.wrap(f"{ids} ({count})", width=width, initial_indent=_INDENT + "    ",
                             subsequent_indent=_INDENT + "    ", break_on_hyphens=False)
    if plan.unchecked:
        out += textwrap.wrap(f"{len(plan.unchecked)} requirements get no test run at all: {', '.join(plan.unchecked)}",
                             width=width, initial_indent=_INDENT, subsequent_indent=_INDENT + "    ",
                             break_on_hyphens=False)
    out += textwrap.wrap(f"{len(plan.may_skip)} more tests may skip during the run, depending on what happens in "
                         "them (the runtime refuses a MAY option, a create fails, the host refuses a namespace or "
                         "an interface): that cannot be known before", width=width, initial_indent=_INDENT,
                         subsequent_indent=_INDENT)
    out += [f"problem:   {problem}" for problem in plan.problems]
    return out
