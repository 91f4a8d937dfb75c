"""Keeping a failed test's bundles: their files copied, ocitest's paths rewritten, the rootfs difference."""

from __future__ import annotations

import filecmp
import os
import re
import shlex
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: Name of the shared template rootfs copy in DIR.
ROOTFS = "rootfs"
#: Files the harness (not the test) puts into a bundle; recreated by the script or not kept.
_HARNESS_FILES = {"config.json", "container.pid", "console.sock", "exchange"}
#: Larger files of a bundle or the rootfs difference are not kept (noted instead).
_MAX_FILE = 16 * 1024 * 1024
#: Text files up to this size get their paths rewritten like the config.
_MAX_TEXT = 1024 * 1024


class PathMap:
    """Replaces ocitest's temporary bundle paths inside strings, whole path components only.

    ``/tmp/ocitest-x/bundles/b1`` must not match inside ``.../b15``: a match has to end the
    string or be followed by something that cannot continue a file name.
    """

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = {k: v for k, v in mapping.items() if k}
        alternatives = "|".join(re.escape(k) for k in sorted(self.mapping, key=len, reverse=True))
        self.pattern = re.compile(f"(?:{alternatives})(?![A-Za-z0-9_.-])") if self.mapping else None

    def text(self, value: str) -> str:
        if self.pattern is None:
            return value
        return self.pattern.sub(lambda m: self.mapping[m.group(0)], value)

    def json(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        return value

    def shell_word(self, value: str, shell: dict[str, str]) -> str:
        """``value`` as one shell word, each mapped path replaced by its fragment in ``shell``
        (``"$HERE/b1"``) and the rest quoted."""
        if self.pattern is None or not value:
            return shlex.quote(value)
        parts, last = [], 0
        for match in self.pattern.finditer(value):
            if match.start() > last:
                parts.append(shlex.quote(value[last:match.start()]))
            parts.append(shell[match.group(0)])
            last = match.end()
        if last < len(value):
            parts.append(shlex.quote(value[last:]))
        return "".join(parts)


@dataclass
class KeptBundle:
    """One of the test's bundles and its kept copy."""

    name: str  # the folder's name, in the test folder and in the script ("$HERE/<name>")
    original: Path
    kept: Path
    ids: list[str] = field(default_factory=list)
    rootfs_original: Path | None = None
    #: The rootfs as a shell word in the script (None: it is not in the bundle; not made by the script).
    rootfs_word: str | None = None
    changes: bool = False
    removed: bool = False


def copy_bundle_files(bundle: KeptBundle, paths: PathMap, problems: list[str]) -> None:
    """The files the test put into the bundle (hook scripts, mount sources), not ocitest's own."""
    skip = set(_HARNESS_FILES)
    if bundle.rootfs_original is not None and bundle.rootfs_original.parent == bundle.original:
        skip.add(bundle.rootfs_original.name)
    elif not bundle.ids:  # another bundle the test only took files from: its rootfs is the template's
        skip.add(ROOTFS)
    for entry in sorted(bundle.original.iterdir()):
        if entry.name in skip:
            continue
        _copy_tree(entry, bundle.kept / entry.name, paths, problems)
    exchange = bundle.original / "exchange"
    if exchange.is_dir() and any(exchange.iterdir()):
        _copy_tree(exchange, bundle.kept / "exchange-ocitest-saw", PathMap({}), problems)


def _copy_tree(source: Path, dest: Path, paths: PathMap, problems: list[str]) -> None:
    """Copy regular files, folders and symlinks; rewrite ocitest's paths inside small text files."""
    try:
        st = os.lstat(source)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(paths.text(os.readlink(source)), dest)
        elif stat.S_ISDIR(st.st_mode):
            dest.mkdir()
            for entry in sorted(source.iterdir()):
                _copy_tree(entry, dest / entry.name, paths, problems)
            shutil.copystat(source, dest)
        elif stat.S_ISREG(st.st_mode):
            if st.st_size > _MAX_FILE:
                problems.append(f"{source}: not kept ({st.st_size} bytes)")
                return
            shutil.copy2(source, dest)
            if st.st_size <= _MAX_TEXT:
                _rewrite_text(dest, paths)
        else:
            problems.append(f"{source}: not kept (not a regular file, folder or symlink)")
    except OSError as exc:
        problems.append(f"{source}: not kept: {exc}")


def _rewrite_text(path: Path, paths: PathMap) -> None:
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return
    new = paths.text(text)
    if new != text:
        mode = os.stat(path).st_mode
        path.write_text(new)
        os.chmod(path, stat.S_IMODE(mode))


def _differs(a: Path, b: Path) -> bool:
    """Whether ``a`` (the test's rootfs) differs from ``b`` (the template) in type, mode, owner or content."""
    try:
        sa, sb = os.lstat(a), os.lstat(b)
    except FileNotFoundError:
        return True
    if (sa.st_mode, sa.st_uid, sa.st_gid) != (sb.st_mode, sb.st_uid, sb.st_gid):
        return True
    if stat.S_ISLNK(sa.st_mode):
        return os.readlink(a) != os.readlink(b)
    if stat.S_ISREG(sa.st_mode):
        return sa.st_size != sb.st_size or not filecmp.cmp(a, b, shallow=False)
    return False


def _walk(top: Path) -> Iterable[Path]:
    """Every path below ``top`` (relative), on ``top``'s file system only, symlinks not followed."""
    device = os.lstat(top).st_dev
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        dirs[:] = [d for d in dirs if os.lstat(here / d).st_dev == device]
        for name in (*dirs, *files):
            yield (here / name).relative_to(top)


def _copy_entry(source: Path, dest: Path) -> None:
    """One rootfs entry into the changes overlay, with its mode and owner (``cp -a`` keeps both)."""
    st = os.lstat(source)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), dest)
    elif stat.S_ISDIR(st.st_mode):
        dest.mkdir(exist_ok=True)
        os.chmod(dest, stat.S_IMODE(st.st_mode))
    elif stat.S_ISREG(st.st_mode):
        shutil.copy2(source, dest)
    else:
        raise OSError(f"{source}: not a regular file, folder or symlink")
    os.chown(dest, st.st_uid, st.st_gid, follow_symlinks=False)


def rootfs_difference(bundle: KeptBundle, template: Path, paths: PathMap, problems: list[str]) -> None:
    """Write bundle/rootfs.changes (added or changed entries) and rootfs.removed (one path a line).

    Entries under a path that mirrors ocitest's bundle path (a test that puts the same absolute
    path on the host and in the rootfs) are moved to the kept bundle's path, like the config.
    """
    rootfs = bundle.rootfs_original
    if rootfs is None or not rootfs.is_dir():
        return
    overlay = bundle.kept / "rootfs.changes"
    kept = set()
    for rel in _walk(rootfs):
        kept.add(rel)
        if not _differs(rootfs / rel, template / rel):
            continue
        target_rel = Path(paths.text("/" + str(rel)).lstrip("/"))
        try:
            if os.lstat(rootfs / rel).st_size > _MAX_FILE and (rootfs / rel).is_file():
                problems.append(f"rootfs entry /{rel}: not kept (too large)")
                continue
            overlay.mkdir(exist_ok=True)
            # Parents in the overlay get the rootfs's own modes and owners: `cp -a` applies them.
            built = Path()
            for part in target_rel.parent.parts:
                built /= part
                if not (overlay / built).exists():
                    source = rootfs / built
                    real_dir = source.is_dir() and not source.is_symlink()
                    _copy_entry(source if real_dir else rootfs, overlay / built)
            _copy_entry(rootfs / rel, overlay / target_rel)
            bundle.changes = True
        except OSError as exc:
            problems.append(f"rootfs entry /{rel}: not kept: {exc}")
    removed = sorted(str(rel) for rel in _walk(template) if rel not in kept and "\n" not in str(rel))
    if removed:
        # Only the topmost removed path of a removed tree is needed.
        tops = [r for r in removed if not any(r.startswith(o + "/") for o in removed if o != r)]
        (bundle.kept / "rootfs.removed").write_text("".join(f"{r}\n" for r in tops))
        bundle.removed = True

