"""The runtime-spec JSON Schemas: where they are, how they load, what they say about a document.

Every config.json the harness writes is validated before ``create`` (a schema error there is
ocitest's bug, never the runtime's), and every state the runtime prints is validated against
``state-schema.json`` (that one is the runtime's business).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from .errors import EnvironmentProblem

#: Where Debian's golang-github-opencontainers-specs-dev puts the schemas.
DEBIAN_SCHEMA_DIR = Path("/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema")
SCHEMA_DIR_ENV = "OCITEST_SCHEMA_DIR"
#: The Features structure's schema: new in runtime-spec 1.1.0, so Debian's 1.0.2 folder lacks it.
FEATURES_SCHEMA = "features-schema.json"
INSTALL_HINT = (
    "install the runtime-spec JSON Schemas (apt-get install golang-github-opencontainers-specs-dev) "
    "or pass --schema-dir DIR (a runtime-spec checkout's schema/ folder)"
)


def locate_schema_dir(option: str | None = None) -> Path:
    """``--schema-dir``, else $OCITEST_SCHEMA_DIR, else the Debian package's folder."""
    for origin, candidate in (("--schema-dir", option), (SCHEMA_DIR_ENV, os.environ.get(SCHEMA_DIR_ENV))):
        if candidate:
            path = Path(candidate).expanduser().resolve()
            if not (path / "config-schema.json").is_file():
                raise EnvironmentProblem(f"{origin} {candidate}: no config-schema.json there; {INSTALL_HINT}")
            return path
    if (DEBIAN_SCHEMA_DIR / "config-schema.json").is_file():
        return DEBIAN_SCHEMA_DIR
    raise EnvironmentProblem(f"no runtime-spec JSON Schema found; {INSTALL_HINT}")


def _repair_refs(node: object) -> object:
    """Mend fragment refs written without the leading slash.

    runtime-spec v1.3.0's defs.json has ``"defs.json#definitions/uint32"`` (fixed upstream after
    the tag as ``#/definitions/uint32``); the data is left as published and mended here.
    """
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and "#" in value:
                doc, _, fragment = value.partition("#")
                if fragment and not fragment.startswith("/"):
                    value = f"{doc}#/{fragment}"
            out[key] = _repair_refs(value)
        return out
    if isinstance(node, list):
        return [_repair_refs(item) for item in node]
    return node


class Schemas:
    """All schema files of one folder, cross-referenced through a ``referencing.Registry``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.contents: dict[str, dict] = {}
        resources = []
        for file in sorted(directory.glob("*.json")):
            data = _repair_refs(json.loads(file.read_text()))
            if not isinstance(data, dict):
                continue
            uri = file.resolve().as_uri()
            # Relative $refs ("defs.json#/...") resolve against the file's own URI.
            data.setdefault("id", uri)
            self.contents[file.name] = data
            resources.append((uri, Resource.from_contents(data, default_specification=DRAFT4)))
        self.registry = Registry().with_resources(resources)
        self._validators: dict[str, Draft4Validator] = {}

    def errors(self, schema_name: str, document: object) -> list[str]:
        """Human-readable schema violations of ``document`` (empty when valid)."""
        validator = self._validators.get(schema_name)
        if validator is None:
            if schema_name not in self.contents:
                raise EnvironmentProblem(f"{self.directory} has no {schema_name}; {INSTALL_HINT}")
            validator = Draft4Validator(self.contents[schema_name], registry=self.registry)
            self._validators[schema_name] = validator
        found = []
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
            found.append(f"{where}: {error.message}")
        return found

    def config_errors(self, config: dict) -> list[str]:
        return self.errors("config-schema.json", config)

    def state_errors(self, state: object) -> list[str]:
        return self.errors("state-schema.json", state)

    @property
    def has_features_schema(self) -> bool:
        """Whether the folder describes the Features structure (runtime-spec 1.1.0 and later do)."""
        return FEATURES_SCHEMA in self.contents

    def features_errors(self, features: object) -> list[str]:
        """Schema violations of what ``features`` printed; EnvironmentProblem without the schema."""
        return self.errors(FEATURES_SCHEMA, features)
