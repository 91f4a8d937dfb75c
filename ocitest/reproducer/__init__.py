"""Reproducers of failed tests (``--keep-failed DIR``): the bundles plus a reproduce.sh.

A red is most useful to a runtime developer when it can be replayed without ocitest. For every
test that did not pass, ``keep`` writes DIR/<short name>/ with:

- one folder per bundle (named as ocitest named it, b3, ...): the config.json the runtime read,
  with the paths that pointed into ocitest's temporary bundle rewritten to the kept one; the other
  files the test put into the bundle (hook scripts, bind-mount sources); an empty exchange folder;
  what ocitest found in the exchange folder (``exchange-ocitest-saw``); and instead of a rootfs
  copy, the difference between the test's rootfs and the shared template (``rootfs.changes``,
  ``rootfs.removed``), because a rootfs copy per failed test would be mostly identical megabytes;
- reproduce.sh: the test's record replayed in order: the runtime calls, each with what ocitest
  saw, and the harness's steps between them, recorded when they were taken (see events.py and
  ``script.Script``);
- failure.txt, calls.json and README.txt.

The template rootfs is copied once to DIR/rootfs; the script copies it into a bundle when the
bundle has none. Nothing here may fail a test's teardown: every problem is written into the
folder (keep-problems.txt) and warned about instead.

This package's own job is the folder: ``keep``, the entry point, gathers the test's bundles and
writes the files above; ``bundles`` keeps the bundles, ``script`` writes reproduce.sh, ``failed``
holds what is known of the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from .bundles import ROOTFS, KeptBundle, PathMap, copy_bundle_files, rootfs_difference
from .failed import FailedTest
from .script import Script, bundle_lines

#: Names in a test's folder that a kept bundle must not take.
_TAKEN = (ROOTFS, "failure", "calls")


def safe_name(nodeid: str) -> str:
    """A short, file-system-safe and unique folder name for a test: module.function[params]-hash.

    The ``test_`` prefixes carry no information; the hash of the whole nodeid keeps names of
    long parametrized tests unique after truncation.
    """
    path, _, name = nodeid.partition("::")
    module = Path(path).stem.removeprefix("test_")
    name = name.replace("::", ".").removeprefix("test_")
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{module}.{name}").strip("._-")[:60]
    return f"{readable or 'test'}-{hashlib.sha1(nodeid.encode()).hexdigest()[:8]}"


def ensure_rootfs(root: Path, template: Path) -> Path:
    """DIR/rootfs, copied from ``template`` the first time.

    Several pytest-xdist workers may get here at once: each copies to a private name and renames
    it into place; whoever loses the rename throws its copy away.
    """
    target = root / ROOTFS
    if target.is_dir():
        return target
    temporary = root / f".{ROOTFS}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(template, temporary, symlinks=True)
        try:
            os.rename(temporary, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


_README = """This folder reproduces one failed ocitest test without ocitest: {nodeid}

  reproduce.sh   the runtime calls the test made, in order, with what ocitest saw before each,
                 and what ocitest did between them (start token, closing stdin, waits);
                 run it as the user ocitest ran as (root), from anywhere:  ./reproduce.sh
                 RUNTIME=/path/to/other/runtime ./reproduce.sh  replays with another binary.
                 It removes its containers at the start and at the end, so it can run again.
  failure.txt    the test, its requirements and ocitest's failure message
  calls.json     the full record of the calls (argv, exit, stdout, stderr, duration)
{bundles}
The rootfs: every bundle's rootfs is a copy of ../{rootfs}, ocitest's template: a static busybox
(the host's busybox-static, /bin/busybox) with one symlink per applet in /bin, a few folders and
files (/etc/passwd, /etc/group, /ocitest-rootfs), about 2 MB. It is kept once for all tests in
this folder. reproduce.sh copies it (cp -a) into a bundle that has no rootfs, then applies what
the test changed in its copy: rootfs.changes/ is copied over it and the paths in rootfs.removed
are deleted. The changes are as ocitest found them after the test, so they may include what the
container itself wrote. Delete a bundle's rootfs to get a fresh one on the next run.
"""


def keep(root: Path, nodeid: str, containers: list, events: list, rootfs_template: Path, *,
         requirements: list[str] | tuple[str, ...] = (), failure: str = "") -> Path | None:
    """Write DIR/<name> for one failed test; never raises (a teardown must not fail because of it).

    ``events`` is the test's record (runtime calls and harness steps, see events.py). Returns the
    folder, or None when not even the folder could be made.
    """
    test = FailedTest(nodeid, list(containers), list(events), list(requirements), failure)
    folder: Path | None = None
    problems: list[str] = []
    try:
        root = Path(root).absolute()
        root.mkdir(parents=True, exist_ok=True)
        folder = root / safe_name(nodeid)
        if folder.exists():  # a folder of an earlier run into the same DIR
            shutil.rmtree(folder)
        folder.mkdir()
        _Keeper(folder, root, Path(rootfs_template), test, problems).write()
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        problems.append(f"keeping this test's reproducer failed: {type(exc).__name__}: {exc}")
    if problems:
        text = "".join(f"{p}\n" for p in problems)
        try:
            if folder is not None and folder.is_dir():
                (folder / "keep-problems.txt").write_text(text)
        except OSError:
            pass
        warnings.warn(f"ocitest --keep-failed, {nodeid}: " + "; ".join(problems[:3]), stacklevel=2)
    return folder if folder is not None and folder.is_dir() else None


@dataclass
class _Keeper:
    """Writes one test's folder; what goes wrong is added to ``problems``, and the rest still written."""

    folder: Path
    root: Path
    template: Path
    test: FailedTest
    problems: list[str]

    def write(self) -> None:
        bundles = self._bundles()
        configs = self._configs(bundles)
        bundles += _sibling_bundles(bundles, configs, self.test.calls, self.folder)
        paths = PathMap({str(b.original): str(b.kept) for b in bundles})
        shell = {str(b.original): f'"$HERE/{b.name}"' for b in bundles}
        notes: list[str] = []
        for b in bundles:
            notes += self._keep_bundle(b, configs.get(b.name), paths, shell)
        (self.folder / ".kept-at").write_text(f"{self.folder}\n")
        try:
            ensure_rootfs(self.root, self.template)
        except OSError as exc:
            self.problems.append(f"the template rootfs could not be copied to {self.root / ROOTFS}: {exc}")
        self._write_files(bundles, Script(self.test, bundles, paths, shell, notes).render())

    def _bundles(self) -> list[KeptBundle]:
        """The test's containers' bundles, one KeptBundle per folder, named as ocitest named it."""
        bundles: list[KeptBundle] = []
        for container in self.test.containers:
            bundle = getattr(container, "bundle", None)
            if bundle is None:
                continue
            original = Path(bundle.path)
            found = next((b for b in bundles if b.original == original), None)
            if found is None:
                name = original.name if re.fullmatch(r"[A-Za-z0-9_]+", original.name) else f"b{len(bundles) + 1}"
                while any(b.name == name for b in bundles) or name in _TAKEN:
                    name += "_"
                found = KeptBundle(name, original, self.folder / name)
                bundles.append(found)
            found.ids.append(container.id)
        return bundles

    def _configs(self, bundles: list[KeptBundle]) -> dict[str, dict]:
        """Each bundle's config as the runtime read it (the one in memory when the file is gone)."""
        configs: dict[str, dict] = {}
        for b in bundles:
            config_path = b.original / "config.json"
            try:
                configs[b.name] = json.loads(config_path.read_text())
            except (OSError, ValueError) as exc:
                container = next(c for c in self.test.containers if getattr(c, "bundle", None) is not None
                                 and Path(c.bundle.path) == b.original)
                configs[b.name] = container.bundle.config
                self.problems.append(f"{config_path} could not be read ({exc}); kept the config ocitest held in memory")
        return configs

    def _keep_bundle(self, b: KeptBundle, config: dict | None, paths: PathMap, shell: dict[str, str]) -> list[str]:
        """Copy one bundle into the folder; the notes the script should carry about it."""
        b.kept.mkdir()
        if config is None:  # another bundle's folder the test used (a mount source): files only
            copy_bundle_files(b, paths, self.problems)
            return []
        root_path = (config.get("root") or {}).get("path") if isinstance(config, dict) else None
        if isinstance(root_path, str) and root_path:
            b.rootfs_original = b.original / root_path  # an absolute root.path stays absolute
            rewritten = paths.text(str(b.rootfs_original))
            if rewritten != str(b.rootfs_original):
                b.rootfs_word = paths.shell_word(str(b.rootfs_original), shell)
            else:
                self.problems.append(f"{b.name}: root.path {root_path!r} is outside the bundle; "
                                     "the script does not make it")
        kept_config = paths.json(config)
        (b.kept / "config.json").write_text(json.dumps(kept_config, indent=2) + "\n")
        (b.kept / "exchange").mkdir()
        os.chmod(b.kept / "exchange", 0o777)
        copy_bundle_files(b, paths, self.problems)
        notes = _missing_sources(b, kept_config)  # after the copies: what is still missing
        try:
            rootfs_difference(b, self.template, paths, self.problems)
        except OSError as exc:
            self.problems.append(f"{b.name}: the rootfs difference could not be taken: {exc}")
        return notes

    def _write_files(self, bundles: list[KeptBundle], script_text: str) -> None:
        """reproduce.sh, calls.json, failure.txt and README.txt."""
        test = self.test
        script = self.folder / "reproduce.sh"
        script.write_text(script_text)
        os.chmod(script, 0o755)
        (self.folder / "calls.json").write_text(json.dumps([c.to_json() for c in test.calls], indent=2) + "\n")
        lines = [f"test: {test.nodeid}", f"requirements: {', '.join(test.requirements) or '(not known)'}", ""]
        lines += ["containers:"] + [f"  {cid}: bundle {b.name} (ocitest's was {b.original})"
                                    for b in bundles for cid in b.ids]
        lines += ["", "failure:", test.failure.rstrip() or "(no message recorded)", ""]
        (self.folder / "failure.txt").write_text("\n".join(lines))
        (self.folder / "README.txt").write_text(_README.format(nodeid=test.nodeid, bundles=bundle_lines(bundles),
                                                               rootfs=ROOTFS))


def _sibling_bundles(bundles: list[KeptBundle], configs: dict[str, dict], calls: list,
                     folder: Path) -> list[KeptBundle]:
    """Other bundle folders of the session that the configs or calls name (a mount source the test
    made in a bundle of its own): kept as files, so that the paths still lead somewhere."""
    parents = {b.original.parent for b in bundles}
    text = json.dumps(list(configs.values())) + json.dumps([list(getattr(c, "argv", [])) for c in calls])
    found: list[KeptBundle] = []
    for parent in parents:
        for match in re.finditer(re.escape(str(parent)) + r"/([A-Za-z0-9_]+)(?![A-Za-z0-9_.-])", text):
            original = parent / match.group(1)
            if original.is_dir() and not any(b.original == original for b in [*bundles, *found]):
                name = match.group(1)
                while any(b.name == name for b in [*bundles, *found]) or name in _TAKEN:
                    name += "_"
                found.append(KeptBundle(name, original, folder / name))
    return found


def _missing_sources(bundle: KeptBundle, config: dict) -> list[str]:
    """Bind-mount sources of a kept config that do not exist now (host-side setup the test undid)."""
    notes = []
    for mount in config.get("mounts") or []:
        source = mount.get("source") if isinstance(mount, dict) else None
        binding = mount.get("type") == "bind" or any(o in ("bind", "rbind") for o in mount.get("options") or [])
        if binding and isinstance(source, str) and source.startswith("/") and not os.path.lexists(source):
            notes.append(f"{bundle.name}: the bind-mount source {source} does not exist now")
    return notes
