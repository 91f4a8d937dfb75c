"""Reproducers of failed tests (``--keep-failed DIR``): the bundles plus a reproduce.sh.

A red is most useful to a runtime developer when it can be replayed without ocitest. For every
test that did not pass, ``keep`` writes DIR/<short name>/ with:

- one folder per bundle (named as ocitest named it, b3, ...): the config.json the runtime read,
  with the paths that pointed into ocitest's temporary bundle rewritten to the kept one; the other
  files the test put into the bundle (hook scripts, bind-mount sources); an empty evidence folder;
  what ocitest found in the evidence folder (``evidence-ocitest-saw``); and instead of a rootfs
  copy, the difference between the test's rootfs and the shared template (``rootfs.changes``,
  ``rootfs.removed``), because a rootfs copy per failed test would be mostly identical megabytes;
- reproduce.sh: the runtime calls of the test in order, each with what ocitest saw, plus the
  few things the harness did between them that matter to the runtime (see ``_Script``);
- failure.txt, calls.json and README.txt.

The template rootfs is copied once to DIR/rootfs; the script copies it into a bundle when the
bundle has none. Nothing here may fail a test's teardown: every problem is written into the
folder (keep-problems.txt) and warned about instead.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

#: Name of the shared template rootfs copy in DIR.
ROOTFS = "rootfs"
#: Files the harness (not the test) puts into a bundle; recreated by the script or not kept.
_HARNESS_FILES = {"config.json", "container.pid", "console.sock", "evidence"}
#: Larger files of a bundle or the rootfs difference are not kept (noted instead).
_MAX_FILE = 16 * 1024 * 1024
#: Text files up to this size get their paths rewritten like the config.
_MAX_TEXT = 1024 * 1024
#: How long the script waits for a container to stop where ocitest waited for its exit.
WAIT_SECONDS = 10


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


# -- the kept bundle ---------------------------------------------------------------------------


def _copy_bundle_files(bundle: KeptBundle, paths: PathMap, problems: list[str]) -> None:
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
    evidence = bundle.original / "evidence"
    if evidence.is_dir() and any(evidence.iterdir()):
        _copy_tree(evidence, bundle.kept / "evidence-ocitest-saw", PathMap({}), problems)


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


def _rootfs_difference(bundle: KeptBundle, template: Path, paths: PathMap, problems: list[str]) -> None:
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


# -- reproduce.sh --------------------------------------------------------------------------------


def _comment(text: str, limit: int = 300) -> str:
    """One line of text safe inside a shell comment."""
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    return text if len(text) <= limit else text[:limit] + "..."


def _seen(call) -> list[str]:
    """What ocitest saw of a call, as comment lines."""
    if call.timed_out:
        head = f"ocitest saw: no return within {call.duration:.1f} s; ocitest killed it"
    else:
        head = f"ocitest saw: exit {call.exit} after {call.duration * 1000:.0f} ms"
    lines = [head]
    for name in ("stdout", "stderr"):
        text = getattr(call, name) or ""
        try:  # JSON (state) on one line: its first lines ("{", "ociVersion") say nothing
            out = [json.dumps(json.loads(text), separators=(",", ":"))] if text.strip() else []
        except ValueError:
            out = [line for line in text.splitlines() if line.strip()]
        for line in out[:3]:
            lines.append(f"  {name}: {_comment(line)}")
        if len(out) > 3:
            lines.append(f"  {name}: ... ({len(out) - 3} more lines, see calls.json)")
    if call.note:
        lines.append(f"  ({_comment(call.note)})")
    return lines


def _state_status(call) -> str | None:
    """The status in a recorded ``state`` call's output, if it printed one."""
    try:
        data = json.loads(call.stdout)
    except (ValueError, TypeError):
        return None
    return data.get("status") if isinstance(data, dict) else None


def _option(args: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``args``."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


@dataclass
class _Parsed:
    """A recorded call, split into the global options, the command and its container."""

    words: list[str]  # argv[1:]
    command: str
    rest: list[str]  # the words after the command
    container: str | None


def _parse(call, global_args: list[str], kill_signal: str) -> _Parsed:
    words = list(call.argv[1:])
    if words[:len(global_args)] == global_args:
        after = words[len(global_args):]
    else:
        after = words[next((i for i, w in enumerate(words) if not w.startswith("-")), len(words)):]
    command, rest = (after[0], after[1:]) if after else ("", [])
    container = rest[-1] if rest else None
    if command == "kill" and "--signal" not in rest and kill_signal == "positional" and len(rest) >= 2:
        container = rest[-2]
    return _Parsed(words, command, rest, container)


_PRELUDE = r'''set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
RUNTIME=${RUNTIME:-@RUNTIME@}
# The script's own messages go to fd 3 (the terminal), also while a call's output is redirected.
exec 3>&1
CALLS=0
HOLDERS=""

call() {  # call ARGS...: run the runtime with ARGS (global options included, as recorded)
  CALLS=$((CALLS + 1))
  printf '\n==> %s %s\n' "$RUNTIME" "$*" >&3
  "$RUNTIME" "$@" 3>&-
  rc=$?
  printf '\n<== exit %s\n' "$rc" >&3
  return "$rc"
}

call_within() {  # call_within SECONDS ARGS...: like call, but killed after SECONDS as ocitest did
  limit=$1; shift
  CALLS=$((CALLS + 1))
  printf '\n==> %s %s  (killed after %s s)\n' "$RUNTIME" "$*" "$limit" >&3
  timeout -s KILL "$limit" "$RUNTIME" "$@" 3>&-
  rc=$?
  printf '\n<== exit %s\n' "$rc" >&3
  return "$rc"
}

forget() {  # forget ID: delete --force, quietly (cleanup, not a replayed call)
  "$RUNTIME" @GLOBALS@ delete --force "$1" >/dev/null 2>&1 3>&-
}

wait_stopped() {  # wait_stopped ID: poll `state` until the container is stopped or gone (bounded)
  n=0
  while [ "$n" -lt @TRIES@ ]; do
    out=$("$RUNTIME" @GLOBALS@ state "$1" 2>/dev/null 3>&-) || return 0
    case $out in *'"status": "stopped"'* | *'"status":"stopped"'*) return 0 ;; esac
    sleep 0.2
    n=$((n + 1))
  done
  echo "reproduce.sh: $1 is not stopped after @WAIT@ s (ocitest saw it stopped here)" >&3
}

hold_stdin() {  # hold_stdin KEY FIFO: a FIFO as a container's stdin, kept open by a background writer
  release "$1"
  rm -f "$2"
  mkfifo "$2"
  sleep 1000000 >"$2" 2>/dev/null 3>&- &
  eval "HOLDER_$1=$!"
  HOLDERS="$HOLDERS $1"
}

release() {  # release KEY: close that container's stdin (what ocitest does to end a waiting program)
  eval "pid=\${HOLDER_$1:-}"
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  eval "HOLDER_$1="
}

release_all() {
  for key in $HOLDERS; do release "$key"; done
}
trap release_all EXIT
trap 'exit 130' INT TERM

show() {  # show B: what the container's stdout and stderr hold so far
  for s in stdout stderr; do
    if [ -s "$HERE/$1/$s" ]; then sed "s/^/    $1 $s| /" "$HERE/$1/$s" >&3; fi
  done
}

prepare() {  # prepare B ROOTFS: a fresh evidence folder, no leftovers, the rootfs in place
  rm -rf "$HERE/$1/evidence" "$HERE/$1/stdout" "$HERE/$1/stderr" "$HERE/$1"/stdin-* \
    "$HERE/$1/container.pid" "$HERE/$1/console.sock"
  mkdir -m 0777 "$HERE/$1/evidence"
  : >"$HERE/$1/stdout"
  : >"$HERE/$1/stderr"
  [ -z "$2" ] || [ -d "$2" ] && return 0
  if [ ! -d "$TOP/@ROOTFS@" ]; then
    echo "reproduce.sh: no $TOP/@ROOTFS@ (the template rootfs ocitest kept beside this folder)" >&2
    exit 2
  fi
  cp -a "$TOP/@ROOTFS@" "$2" || exit 2
  if [ -d "$HERE/$1/rootfs.changes" ]; then cp -a "$HERE/$1/rootfs.changes/." "$2/" || exit 2; fi
  if [ -f "$HERE/$1/rootfs.removed" ]; then
    while IFS= read -r path; do [ -z "$path" ] || rm -rf "${2:?}/$path"; done <"$HERE/$1/rootfs.removed"
  fi
}

# The configs name this folder by its absolute path; when the folder was moved, point them here.
if [ -f "$HERE/.kept-at" ] && [ "$(cat "$HERE/.kept-at")" != "$HERE" ]; then
  was=$(cat "$HERE/.kept-at")
  find "$HERE" -name rootfs -prune -o -name rootfs.changes -prune -o -type f ! -name reproduce.sh \
    -exec grep -l -F "$was" {} + 2>/dev/null | while IFS= read -r f; do
    sed -i "s|$was|$HERE|g" "$f"
  done
  echo "$HERE" >"$HERE/.kept-at"
fi
'''


class _Script:
    """Builds reproduce.sh: the recorded calls, and the harness's acts between them that matter.

    What the harness does between calls and the shell imitates:
    - create: the container gets a held stdin (a FIFO with a background writer) and its stdout and
      stderr go to files, where the runtime's own create output lands too (as in ocitest's pipes);
    - start: the harness touches evidence/start-invoked first (programs look for it);
    - a ``state`` that ocitest saw "stopped", or a plain ``delete`` that succeeded: ocitest had
      waited for the program's exit (and closed its stdin to end a waiting one), so the script
      closes stdin and polls ``state`` for a bounded time;
    - a ``create`` without ``--bundle`` or with a relative one ran in the bundle's folder or its
      parent: the script changes to the kept equivalent.
    What it cannot do (a console socket's receiver, inherited descriptors) is said in comments.
    """

    def __init__(self, nodeid: str, requirements: list[str], failure: str, runtime, bundles: list[KeptBundle],
                 paths: PathMap, shell: dict[str, str], notes: list[str] | None = None) -> None:
        self.notes = notes or []
        self.nodeid = nodeid
        self.requirements = requirements
        self.failure = failure
        self.runtime = runtime
        self.bundles = bundles
        self.paths = paths
        self.shell = shell
        self.by_id: dict[str, list[KeptBundle]] = {}
        #: Container ID -> the keys of the held stdins of its creates (see hold_stdin).
        self.holders: dict[str, list[str]] = {}
        for bundle in bundles:
            for cid in bundle.ids:
                self.by_id.setdefault(cid, []).append(bundle)

    def word(self, value: str) -> str:
        return self.paths.shell_word(value, self.shell)

    def render(self, calls: list) -> str:
        runtime_path = self.runtime.path if self.runtime is not None else (calls[0].argv[0] if calls else "runc")
        global_args = list(self.runtime.global_args) if self.runtime is not None else []
        kill_signal = getattr(self.runtime, "kill_signal", "positional")
        parsed = [_parse(c, global_args, kill_signal) for c in calls]
        ids = []
        for cid in [*(cid for b in self.bundles for cid in b.ids),
                    *(p.container for p in parsed if p.command == "create" and p.container)]:
            if cid and not cid.startswith("-") and cid not in ids:
                ids.append(cid)
        out = ["#!/bin/sh", f"# ocitest reproducer of {_comment(self.nodeid)}"]
        if self.requirements:
            out.append(f"# requirements: {', '.join(self.requirements)}")
        first = next((line for line in self.failure.splitlines() if line.strip()), "")
        if first:
            out.append(f"# ocitest's finding: {_comment(first)}")
        out += [
            "#",
            f"# Replays the {len(calls)} runtime calls ocitest made in this test, in order, against the",
            "# bundle folder(s) beside this script: ocitest's temporary paths are replaced by \"$HERE/...\".",
            "# Run it as the user ocitest ran as. RUNTIME=/path/to/runtime ./reproduce.sh runs another",
            "# binary; the global options stay as recorded on each line. failure.txt has ocitest's message,",
            "# calls.json the full record, README.txt the layout. Lines \"==> ...\" and \"<== exit N\" mark",
            "# each call; the containers' stdout and stderr are in each bundle's stdout and stderr files.",
            "#",
            "# Where this shell is not ocitest: ocitest gave create pipes for the container's stdio and held",
            "# them; here stdin is a FIFO held by a background `sleep`, stdout/stderr are files. ocitest waited",
            "# for exits on a pidfd; the script polls `state` (see wait_stopped). Descriptors or environment",
            "# ocitest passed to a call (LISTEN_FDS, an inherited console socket) are not in the record, nor",
            "# what the test set up on the host for its own length (mounts, namespaces held open): the folders",
            "# it used are kept as ocitest found them after the test.",
        ]
        out += [f"# note: {_comment(note)}" for note in self.notes]
        if any(_option(p.rest, "--console-socket") is not None for p in parsed if p.command == "create"):
            out += [
                "# This test used --console-socket: ocitest listened on the socket and received the pty master.",
                "# Nothing listens here, so the runtime cannot connect and create fails unless you start a",
                "# receiver on that path first (runc's contrib/cmd/recvtty, for instance).",
            ]
        prelude = (_PRELUDE.replace("@RUNTIME@", shlex.quote(runtime_path))
                   .replace("@GLOBALS@", " ".join(shlex.quote(a) for a in global_args))
                   .replace("@TRIES@", str(WAIT_SECONDS * 5)).replace("@WAIT@", str(WAIT_SECONDS))
                   .replace("@ROOTFS@", ROOTFS))
        out += [prelude, "# -- leftovers of an earlier run of this script"]
        out += [f"forget {shlex.quote(cid)}" for cid in ids]
        for bundle in self.bundles:
            if bundle.ids:
                out.append(f"prepare {bundle.name} {bundle.rootfs_word or shlex.quote('')}")
        out += ["", "# -- the calls, as ocitest made them"]
        for number, (call, p) in enumerate(zip(calls, parsed), 1):
            out.append("")
            out += [f"# {number}/{len(calls)} {line}" if i == 0 else f"#      {line}"
                    for i, line in enumerate(_seen(call))]
            out += self._call(number, call, p)
        out += ["", "# -- cleanup: so that the script can run again", "release_all"]
        out += [f"show {b.name}" for b in self.bundles if b.ids]
        out += [f"forget {shlex.quote(cid)}" for cid in ids]
        out += ['printf "\\nreplayed %s runtime calls; ocitest\'s finding: see %s\\n" "$CALLS" "$HERE/failure.txt" >&3',
                ""]
        return "\n".join(out)

    def _call(self, number: int, call, p: _Parsed) -> list[str]:
        lines: list[str] = []
        words = " ".join(self.word(w) for w in p.words)
        mine = self.by_id.get(p.container or "", [])
        limit = f"call_within {max(1, int(call.duration + 0.999))} " if call.timed_out else "call "
        line = f"{limit}{words}"
        if p.command == "create":
            bundle_arg = _option(p.rest, "--bundle") or _option(p.rest, "-b")
            target = mine[0] if mine else None
            if bundle_arg is not None:
                target = next((b for b in self.bundles if str(b.original) == bundle_arg), target)
            console = _option(p.rest, "--console-socket")
            if console is not None:
                if console.isdigit():
                    lines.append(f"# ocitest passed an open socket at descriptor {console}; the shell has none "
                                 "there, so this differs from ocitest's call")
                else:
                    lines.append("# ocitest listened on this console socket; nothing does here (see the top)")
            moved = False
            if bundle_arg is not None and not bundle_arg.startswith("/"):
                lines += ["# a relative --bundle: ocitest ran this in the bundles' parent folder; here, $HERE",
                          'cd "$HERE" || exit 2']
                moved = True
            elif bundle_arg is None and target is not None:
                lines += ["# no --bundle: ocitest ran this in the bundle folder (the runtime takes the cwd)",
                          f'cd "$HERE/{target.name}" || exit 2']
                moved = True
            elif bundle_arg is not None and self.paths.text(bundle_arg) == bundle_arg:
                lines.append("# this bundle was not one of the test's containers: not kept, the call will differ")
            if target is not None:
                # One held stdin per create: two containers of one bundle must not share one.
                key = f"in{number}"
                self.holders.setdefault(p.container or "", []).append(key)
                b = f'"$HERE/{target.name}'
                lines.insert(0, f'hold_stdin {key} {b}/stdin-{number}"')
                line += f' <{b}/stdin-{number}" >>{b}/stdout" 2>>{b}/stderr"'
                lines += [line, f"show {target.name}"]
            else:
                lines.append(line + " </dev/null")
            if moved:
                lines.append("cd - >/dev/null || exit 2")
            return lines
        if p.command == "start":
            for bundle in mine:
                lines.append(f': >"$HERE/{bundle.name}/evidence/start-invoked"  '
                             "# ocitest marks start as invoked for the program")
        waited = (p.command == "state" and _state_status(call) == "stopped") or (
            p.command == "delete" and "--force" not in p.rest and call.exit == 0)
        if waited and p.container:
            lines.append("# ocitest had waited for the program's exit here (closing its stdin ends a waiting one)")
            lines += [f"release {key}" for key in self.holders.get(p.container, [])]
            lines.append(f"wait_stopped {shlex.quote(p.container)}")
        lines.append(line + " </dev/null")
        return lines


# -- the folder ----------------------------------------------------------------------------------

_README = """This folder reproduces one failed ocitest test without ocitest: {nodeid}

  reproduce.sh   the runtime calls the test made, in order, with what ocitest saw before each;
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


def _bundle_lines(bundles: list[KeptBundle]) -> str:
    lines = []
    for b in bundles:
        if not b.ids:
            lines.append(f"  {b.name}/{' ' * max(1, 13 - len(b.name))}files of another bundle folder the test used "
                         f"(ocitest's was {b.original}), as ocitest left them")
            continue
        lines.append(f"  {b.name}/{' ' * max(1, 13 - len(b.name))}bundle of container(s) {', '.join(b.ids)} "
                     f"(ocitest's was {b.original})")
        lines.append("                   config.json: what the runtime read, paths into the bundle rewritten;")
        lines.append("                   evidence/: empty, bind-mounted at /ocitest (mode 0777);")
        if (b.kept / "evidence-ocitest-saw").exists():
            lines.append("                   evidence-ocitest-saw/: what the test found in evidence/;")
        lines.append("                   stdout, stderr: the container's output (written by the script).")
    return "\n".join(lines) + "\n"


def keep(root: Path, nodeid: str, containers: list, calls: list, rootfs_template: Path, *,
         requirements: list[str] | tuple[str, ...] = (), failure: str = "") -> Path | None:
    """Write DIR/<name> for one failed test; never raises (a teardown must not fail because of it).

    Returns the folder, or None when not even the folder could be made.
    """
    folder: Path | None = None
    problems: list[str] = []
    try:
        root = Path(root).absolute()
        root.mkdir(parents=True, exist_ok=True)
        folder = root / safe_name(nodeid)
        if folder.exists():  # a folder of an earlier run into the same DIR
            shutil.rmtree(folder)
        folder.mkdir()
        _write(folder, root, nodeid, containers, calls, Path(rootfs_template), list(requirements), failure, problems)
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


def _write(folder: Path, root: Path, nodeid: str, containers: list, calls: list, template: Path,
           requirements: list[str], failure: str, problems: list[str]) -> None:
    bundles: list[KeptBundle] = []
    for container in containers:
        bundle = getattr(container, "bundle", None)
        if bundle is None:
            continue
        original = Path(bundle.path)
        found = next((b for b in bundles if b.original == original), None)
        if found is None:
            name = original.name if re.fullmatch(r"[A-Za-z0-9_]+", original.name) else f"b{len(bundles) + 1}"
            while any(b.name == name for b in bundles) or name in (ROOTFS, "failure", "calls"):
                name += "_"
            found = KeptBundle(name, original, folder / name)
            bundles.append(found)
        found.ids.append(container.id)
    configs: dict[str, dict] = {}
    for b in bundles:
        config_path = b.original / "config.json"
        try:
            configs[b.name] = json.loads(config_path.read_text())
        except (OSError, ValueError) as exc:
            container = next(c for c in containers if getattr(c, "bundle", None) is not None
                             and Path(c.bundle.path) == b.original)
            configs[b.name] = container.bundle.config
            problems.append(f"{config_path} could not be read ({exc}); kept the config ocitest held in memory")
    bundles += _sibling_bundles(bundles, configs, calls, folder)
    paths = PathMap({str(b.original): str(b.kept) for b in bundles})
    shell = {str(b.original): f'"$HERE/{b.name}"' for b in bundles}
    notes: list[str] = []

    for b in bundles:
        b.kept.mkdir()
        if b.name not in configs:  # another bundle's folder the test used (a mount source): files only
            _copy_bundle_files(b, paths, problems)
            continue
        config = configs[b.name]
        root_path = (config.get("root") or {}).get("path") if isinstance(config, dict) else None
        if isinstance(root_path, str) and root_path:
            b.rootfs_original = b.original / root_path  # an absolute root.path stays absolute
            rewritten = paths.text(str(b.rootfs_original))
            if rewritten != str(b.rootfs_original):
                b.rootfs_word = paths.shell_word(str(b.rootfs_original), shell)
            else:
                problems.append(f"{b.name}: root.path {root_path!r} is outside the bundle; the script does not make it")
        kept_config = paths.json(config)
        (b.kept / "config.json").write_text(json.dumps(kept_config, indent=2) + "\n")
        notes += _missing_sources(b, kept_config)
        (b.kept / "evidence").mkdir()
        os.chmod(b.kept / "evidence", 0o777)
        _copy_bundle_files(b, paths, problems)
        try:
            _rootfs_difference(b, template, paths, problems)
        except OSError as exc:
            problems.append(f"{b.name}: the rootfs difference could not be taken: {exc}")
    (folder / ".kept-at").write_text(f"{folder}\n")
    try:
        ensure_rootfs(root, template)
    except OSError as exc:
        problems.append(f"the template rootfs could not be copied to {root / ROOTFS}: {exc}")

    runtime = next((c.runtime for c in containers if getattr(c, "runtime", None) is not None), None)
    script = folder / "reproduce.sh"
    script.write_text(_Script(nodeid, requirements, failure, runtime, bundles, paths, shell, notes).render(calls))
    os.chmod(script, 0o755)
    (folder / "calls.json").write_text(json.dumps([_call_json(c) for c in calls], indent=2) + "\n")
    lines = [f"test: {nodeid}", f"requirements: {', '.join(requirements) or '(not known)'}", ""]
    lines += ["containers:"] + [f"  {cid}: bundle {b.name} (ocitest's was {b.original})" for b in bundles for cid in b.ids]
    lines += ["", "failure:", failure.rstrip() or "(no message recorded)", ""]
    (folder / "failure.txt").write_text("\n".join(lines))
    (folder / "README.txt").write_text(_README.format(nodeid=nodeid, bundles=_bundle_lines(bundles), rootfs=ROOTFS))


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
                while any(b.name == name for b in [*bundles, *found]) or name in (ROOTFS, "failure", "calls"):
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


def _call_json(call) -> dict:
    to_json: Callable[[], dict] | None = getattr(call, "to_json", None)
    return to_json() if to_json is not None else dict(vars(call))
