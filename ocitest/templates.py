"""Where the bundle templates are: the top-level ``bundles/`` folder of a checkout, or its copy
shipped inside the package (``ocitest/bundles``) when installed.

They are plain JSON and TOML so that a runtime author can read what every container starts from
without opening Python.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from .errors import HarnessError

_PACKAGE = Path(__file__).resolve().parent
#: Inside the package first: beside an installed package is site-packages, where a folder named
#: ``bundles`` could belong to anything.
_FOLDERS = (_PACKAGE / "bundles", _PACKAGE.parent / "bundles")


def template_file(name: str) -> Path:
    for folder in _FOLDERS:
        if (folder / name).is_file():
            return folder / name
    raise HarnessError(f"the bundle template {name} is missing (looked in {', '.join(map(str, _FOLDERS))})")


def load_json(name: str) -> dict:
    return json.loads(template_file(name).read_text(encoding="utf-8"))


def load_toml(name: str) -> dict:
    return tomllib.loads(template_file(name).read_text(encoding="utf-8"))
