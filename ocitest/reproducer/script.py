"""Writing reproduce.sh: the recorded runtime calls, parsed, turned into a shell script."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from .bundles import ROOTFS, KeptBundle, PathMap

#: How long the script waits for a container to stop where ocitest waited for its exit.
WAIT_SECONDS = 10


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

prepare() {  # prepare B ROOTFS: a fresh exchange folder, no leftovers, the rootfs in place
  rm -rf "$HERE/$1/exchange" "$HERE/$1/stdout" "$HERE/$1/stderr" "$HERE/$1"/stdin-* \
    "$HERE/$1/container.pid" "$HERE/$1/console.sock"
  mkdir -m 0777 "$HERE/$1/exchange"
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


class Script:
    """Builds reproduce.sh: the recorded calls, and the harness's acts between them that matter.

    What the harness does between calls and the shell imitates:
    - create: the container gets a held stdin (a FIFO with a background writer) and its stdout and
      stderr go to files, where the runtime's own create output lands too (as in ocitest's pipes);
    - start: the harness touches exchange/start-invoked first (programs look for it);
    - a ``state`` that ocitest saw "stopped", or a plain ``delete`` that succeeded after a start: ocitest had
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
        #: Containers a ``start`` was replayed for: only those had a program whose exit ocitest awaited.
        self.started: set[str] = set()
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
            self.started.add(p.container or "")
            for bundle in mine:
                lines.append(f': >"$HERE/{bundle.name}/exchange/start-invoked"  '
                             "# ocitest marks start as invoked for the program")
        # A plain delete that succeeded after a start: the harness had waited for the exit first. Not
        # after create alone: deleting a created container is itself a check (it must fail).
        waited = (p.command == "state" and _state_status(call) == "stopped") or (
            p.command == "delete" and "--force" not in p.rest and call.exit == 0 and p.container in self.started)
        if waited and p.container:
            lines.append("# ocitest had waited for the program's exit here (closing its stdin ends a waiting one)")
            lines += [f"release {key}" for key in self.holders.get(p.container, [])]
            lines.append(f"wait_stopped {shlex.quote(p.container)}")
        lines.append(line + " </dev/null")
        return lines


def bundle_lines(bundles: list[KeptBundle]) -> str:
    """The README's lines on each kept bundle."""
    lines = []
    for b in bundles:
        if not b.ids:
            lines.append(f"  {b.name}/{' ' * max(1, 13 - len(b.name))}files of another bundle folder the test used "
                         f"(ocitest's was {b.original}), as ocitest left them")
            continue
        lines.append(f"  {b.name}/{' ' * max(1, 13 - len(b.name))}bundle of container(s) {', '.join(b.ids)} "
                     f"(ocitest's was {b.original})")
        lines.append("                   config.json: what the runtime read, paths into the bundle rewritten;")
        lines.append("                   exchange/: empty, bind-mounted at /ocitest (mode 0777);")
        if (b.kept / "exchange-ocitest-saw").exists():
            lines.append("                   exchange-ocitest-saw/: what the test found in exchange/;")
        lines.append("                   stdout, stderr: the container's output (written by the script).")
    return "\n".join(lines) + "\n"

