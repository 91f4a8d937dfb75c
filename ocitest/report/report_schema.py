"""The JSON Schema (draft 2020-12) of ocitest's own report, format ``ocitest-report/1``.

The schema file ships in the package (``ocitest/report/ocitest-report-1.schema.json``) so that
a consumer of reports can check them without ocitest's code, and so that the harness's tests
hold the writer to the contract: a key the writer adds or drops without a schema change fails
validation.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from jsonschema import Draft202012Validator

SCHEMA_FILE = "ocitest-report-1.schema.json"


@lru_cache(maxsize=1)
def schema() -> dict:
    """The schema as a dict (read once)."""
    return json.loads(resources.files("ocitest.report").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def validate(report: object) -> list[str]:
    """Every way ``report`` breaks the schema, one line each (``/json/pointer: message``); [] when valid."""
    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = []
    for error in sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path))):
        pointer = "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in error.absolute_path)
        problems.append(f"{pointer or '/'}: {error.message[:300]}")
    return problems
