"""A bundle on disk: config.json (validated against the schema), a rootfs copy, an exchange folder."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import copy
from dataclasses import dataclass, field
from pathlib import Path

from .config import default_config
from .errors import HarnessError
from .rootfs import copy_rootfs
from .schema import Schemas


@dataclass
class Bundle:
    """One container's bundle folder. Edit ``config`` freely; ``write()`` validates and saves it."""

    path: Path
    config: dict
    #: Host folder bind-mounted at /ocitest in the container (also where host-side hooks write).
    exchange: Path
    schemas: Schemas
    #: The config as the factory made it, before the test changed anything (for the report's diff).
    default: dict = field(default_factory=dict)

    @property
    def rootfs(self) -> Path:
        return self.path / self.config.get("root", {}).get("path", "rootfs")

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    def write(self, *, validate: bool = True) -> Path:
        """Write config.json; an invalid config is ocitest's own bug and raises HarnessError.

        ``validate=False`` is for the few checks that hand a runtime a deliberately broken config.
        """
        if validate:
            problems = self.schemas.config_errors(self.config)
            if problems:
                raise HarnessError(
                    "ocitest generated a config.json that the runtime-spec schema rejects "
                    f"({self.schemas.directory}): " + "; ".join(problems[:5])
                )
        self.config_path.write_text(json.dumps(self.config, indent=2))
        return self.config_path

    def set_args(self, args: list[str]) -> None:
        self.config.setdefault("process", {})["args"] = list(args)


class BundleFactory:
    """Makes bundles under one working folder, from one template rootfs."""

    def __init__(self, workdir: Path, rootfs_template: Path, schemas: Schemas, oci_version: str,
                 *, rootless: bool = False) -> None:
        self.workdir = workdir
        self.rootless = rootless
        self.rootfs_template = rootfs_template
        self.schemas = schemas
        self.oci_version = oci_version
        self._counter = itertools.count(1)

    def new(self) -> Bundle:
        path = self.workdir / f"b{next(self._counter)}"
        path.mkdir(parents=True)
        exchange = path / "exchange"
        exchange.mkdir()
        os.chmod(exchange, 0o777)
        copy_rootfs(self.rootfs_template, path / "rootfs")
        config = default_config(self.oci_version, str(exchange), rootless=self.rootless)
        return Bundle(path, config, exchange, self.schemas, copy.deepcopy(config))

    @staticmethod
    def remove(bundle: Bundle) -> None:
        shutil.rmtree(bundle.path, ignore_errors=True)
