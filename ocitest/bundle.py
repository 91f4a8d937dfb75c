"""A bundle on disk: config.json (validated against the schema), a rootfs copy, an exchange folder.

The bundle also records what was made on the host for its container (the cgroupsPath it asked
for, mounts, namespaces, sockets), so that clean-up follows from the record instead of being
written into each test: ``Container.remove`` takes away the cgroups, ``BundleFactory.remove``
undoes the rest once the container is gone.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .cgroupdriver import CgroupDriver
from .config import default_config
from .errors import HarnessError
from .host import cgroup_dirs
from .rootfs import copy_rootfs
from .schema import Schemas

T = TypeVar("T")
#: What the first level of a cgroupsPath the harness asks for starts with: the clean-up removes that
#: level's whole tree, which must therefore be the harness's own (a container ID is).
OWN_CGROUP_PREFIX = "ocitest-"


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
    #: The cgroups asked for with ``use_cgroups_path``, in the path form (absolute or relative).
    cgroups_paths: list[str] = field(default_factory=list)
    #: How the runtime reads ``linux.cgroupsPath`` (the run's --cgroup-driver).
    cgroup_driver: CgroupDriver = field(default_factory=CgroupDriver)
    _held: ExitStack = field(default_factory=ExitStack, repr=False)

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

    def use_cgroups_path(self, path: str) -> str:
        """Give the container the cgroup ``path`` (``/ID`` or ``ID/inner``) and remember it, so that
        the harness removes what a runtime leaves there after the container is deleted (and only
        then: a check of the runtime's own delete looks first). The first level must be the
        harness's own. ``linux.cgroupsPath`` gets the driver's form of it, which is returned:
        ``path`` itself (below the delegated cgroup in a rootless run), or ``slice:prefix:name``
        for the systemd driver.
        """
        top = path.strip("/").split("/")[0]
        if not top.startswith(OWN_CGROUP_PREFIX):
            raise HarnessError(f"cgroupsPath {path!r}: its first level must start with {OWN_CGROUP_PREFIX!r}, "
                               "so that removing it cannot touch a cgroup that is not the harness's")
        value = self.cgroup_driver.config_value(path)
        self.config.setdefault("linux", {})["cgroupsPath"] = value
        if path not in self.cgroups_paths:
            self.cgroups_paths.append(path)
        return value

    def cgroup_landing(self, path: str) -> str | None:
        """Where the cgroup asked for as ``path`` is, from a hierarchy's root (None: the runtime decides)."""
        return self.cgroup_driver.landing(path)

    def cgroup_dirs(self, path: str) -> list[Path]:
        """The directories of the cgroup asked for as ``path``, in each hierarchy where it exists."""
        landing = self.cgroup_landing(path)
        return cgroup_dirs("/" + landing) if landing is not None else []

    def own_cgroup_names(self) -> set[str]:
        """Per recorded cgroup, what clean-up removes with all below it: the first level of the path
        (cgroupfs; below the delegated cgroup when rootless), or the scope the systemd driver made."""
        return {self.cgroup_driver.top(path) for path in self.cgroups_paths}

    def hold(self, resource: AbstractContextManager[T]) -> T:
        """Enter ``resource`` (a host mount, a named namespace, a listening socket made for this
        container) and keep it until the bundle is removed, after its container is gone."""
        return self._held.enter_context(resource)

    def release(self) -> None:
        """Undo what ``hold`` kept, last first."""
        self._held.close()


class BundleFactory:
    """Makes bundles under one working folder, from one template rootfs."""

    def __init__(self, workdir: Path, rootfs_template: Path, schemas: Schemas, oci_version: str,
                 *, rootless: bool = False, cgroup_driver: str = "cgroupfs", cgroup_base: str = "") -> None:
        self.workdir = workdir
        self.rootless = rootless
        self.cgroup_driver = CgroupDriver(cgroup_driver, cgroup_base)
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
        return Bundle(path, config, exchange, self.schemas, copy.deepcopy(config), cgroup_driver=self.cgroup_driver)

    @staticmethod
    def remove(bundle: Bundle) -> None:
        """Undo what the bundle holds (a mount inside the folder first), then delete the folder."""
        try:
            bundle.release()
        finally:
            shutil.rmtree(bundle.path, ignore_errors=True)
