"""Writing reproduce.sh: the test's record (runtime calls and the harness's steps) replayed in order."""

from __future__ import annotations

import json
import re
import shlex

from ..events import Operation, Step, StepKind
from ..runtime import Call
from .bundles import ROOTFS, KeptBundle, PathMap
from .failed import FailedTest

#: How long the script waits where ocitest waited (for a container's exit or output).
WAIT_SECONDS = 10


def _comment(text: str, limit: int = 300) -> str:
    """One line of text safe inside a shell comment."""
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    return text if len(text) <= limit else text[:limit] + "..."


def _seen(call: Call) -> list[str]:
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


def _as_caller(op: Operation) -> str:
    """The command words that make a call's process the caller ocitest was (empty: the shell as it is)."""
    words = []
    if op.oom_score_adj is not None:
        words.append(f"choom -n {op.oom_score_adj} --")
    if op.personality is not None:
        words.append(f"setarch {op.personality.lower()}")
    return " ".join(words)


_PRELUDE = r'''set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
RUNTIME=${RUNTIME:-@RUNTIME@}
# The script's own messages go to fd 3 (the terminal), also while a call's output is redirected.
exec 3>&1
CALLS=0
HOLDERS=""
AS_CALLER=""  # words put before the runtime for one call: the caller ocitest was (oom_score_adj, personality)

call() {  # call ARGS...: run the runtime with ARGS (global options included, as recorded)
  CALLS=$((CALLS + 1))
  printf '\n==> %s %s\n' "$RUNTIME" "$*" >&3
  $AS_CALLER "$RUNTIME" "$@" 3>&-
  rc=$?
  printf '\n<== exit %s\n' "$rc" >&3
  return "$rc"
}

call_within() {  # call_within SECONDS ARGS...: like call, but killed after SECONDS as ocitest did
  limit=$1; shift
  CALLS=$((CALLS + 1))
  printf '\n==> %s %s  (killed after %s s)\n' "$RUNTIME" "$*" "$limit" >&3
  timeout -s KILL "$limit" $AS_CALLER "$RUNTIME" "$@" 3>&-
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

wait_output() {  # wait_output B TEXT: poll B's stdout file until the container printed TEXT (bounded)
  n=0
  while [ "$n" -lt @TRIES@ ]; do
    grep -qF -- "$2" "$HERE/$1/stdout" 2>/dev/null && return 0
    sleep 0.2
    n=$((n + 1))
  done
  echo "reproduce.sh: $1's container did not print $2 within @WAIT@ s (ocitest waited for it here)" >&3
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
    """Builds reproduce.sh from the test's record: each event, in order, becomes script lines.

    A runtime call is replayed as recorded (argv, with ocitest's paths made "$HERE/..."); what the
    harness did around it is imitated:
    - create: the container gets a held stdin (a FIFO with a background writer) and its stdout and
      stderr go to files, where the runtime's own create output lands too (as in ocitest's pipes);
    - a call that ran in a folder of the harness's choosing runs in the kept equivalent;
    - the harness's steps: the start token is written, stdin is closed (the FIFO's writer ends),
      a wait for output polls the stdout file, a wait for the exit polls ``state`` (bounded).
    What it cannot do (a console socket's receiver, inherited descriptors) is said in comments.
    """

    def __init__(self, test: FailedTest, bundles: list[KeptBundle], paths: PathMap, shell: dict[str, str],
                 notes: list[str] | None = None) -> None:
        self.test = test
        self.notes = notes or []
        self.bundles = bundles
        self.paths = paths
        self.shell = shell
        self.kept = {str(b.original): b for b in bundles}
        #: (container ID, bundle folder) -> the keys of the held stdins of its creates (see hold_stdin).
        self.holders: dict[tuple[str, str], list[str]] = {}
        #: Containers whose exit ocitest has awaited since their last create or start.
        self.exited: set[str] = set()

    def word(self, value: str) -> str:
        return self.paths.shell_word(value, self.shell)

    def render(self) -> str:
        calls = self.test.calls
        runtime = self.test.runtime
        runtime_path = runtime.path if runtime is not None else (calls[0].argv[0] if calls else "runc")
        global_args = list(runtime.global_args) if runtime is not None else []
        out = self._header(len(calls))
        prelude = (_PRELUDE.replace("@RUNTIME@", shlex.quote(runtime_path))
                   .replace("@GLOBALS@", " ".join(shlex.quote(a) for a in global_args))
                   .replace("@TRIES@", str(WAIT_SECONDS * 5)).replace("@WAIT@", str(WAIT_SECONDS))
                   .replace("@ROOTFS@", ROOTFS))
        ids = self._container_ids(calls)
        out += [prelude, "# -- leftovers of an earlier run of this script"]
        out += [f"forget {shlex.quote(cid)}" for cid in ids]
        for bundle in self.bundles:
            if bundle.ids:
                out.append(f"prepare {bundle.name} {bundle.rootfs_word or shlex.quote('')}")
        out += ["", "# -- the calls, as ocitest made them, and what ocitest did between them"]
        number = 0
        previous = None
        for event in self.test.events:
            if isinstance(event, Call):
                number += 1
                out.append("")
                out += [f"# {number}/{len(calls)} {line}" if i == 0 else f"#      {line}"
                        for i, line in enumerate(_seen(event))]
                out += self._call(number, event)
            else:
                out += [""] * isinstance(previous, Call) + self._step(event)
            previous = event
        out += ["", "# -- cleanup: so that the script can run again", "release_all"]
        out += [f"show {b.name}" for b in self.bundles if b.ids]
        out += [f"forget {shlex.quote(cid)}" for cid in ids]
        out += ['printf "\\nreplayed %s runtime calls; ocitest\'s finding: see %s\\n" "$CALLS" "$HERE/failure.txt" >&3',
                ""]
        return "\n".join(out)

    def _header(self, count: int) -> list[str]:
        out = ["#!/bin/sh", f"# ocitest reproducer of {_comment(self.test.nodeid)}"]
        if self.test.requirements:
            out.append(f"# requirements: {', '.join(self.test.requirements)}")
        first = next((line for line in self.test.failure.splitlines() if line.strip()), "")
        if first:
            out.append(f"# ocitest's finding: {_comment(first)}")
        out += [
            "#",
            f"# Replays the {count} runtime calls ocitest made in this test, in order, against the",
            "# bundle folder(s) beside this script: ocitest's temporary paths are replaced by \"$HERE/...\".",
            "# Between the calls it does what ocitest did there: write the start token, close a container's",
            "# stdin, wait for its output or its exit. Run it as the user ocitest ran as.",
            "# RUNTIME=/path/to/runtime ./reproduce.sh runs another binary; the global options stay as",
            "# recorded on each line. failure.txt has ocitest's message, calls.json the full record,",
            "# README.txt the layout. Lines \"==> ...\" and \"<== exit N\" mark each call; the containers'",
            "# stdout and stderr are in each bundle's stdout and stderr files.",
            "#",
            "# Where this shell is not ocitest: ocitest gave create pipes for the container's stdio and held",
            "# them; here stdin is a FIFO held by a background `sleep`, stdout/stderr are files. ocitest waited",
            "# for exits on a pidfd; the script polls `state` (see wait_stopped). Descriptors or environment",
            "# ocitest passed to a call (LISTEN_FDS, an inherited console socket), data a test wrote to a",
            "# container's stdin, and what the test set up on the host for its own length (mounts, namespaces",
            "# held open) are not replayed: the folders it used are kept as ocitest found them after the test.",
        ]
        out += [f"# note: {_comment(note)}" for note in self.notes]
        if any(c.operation.console for c in self.test.calls):
            out += [
                "# This test used --console-socket: ocitest listened on the socket and received the pty master.",
                "# Nothing listens here, so the runtime cannot connect and create fails unless you start a",
                "# receiver on that path first (runc's contrib/cmd/recvtty, for instance).",
            ]
        return out

    def _container_ids(self, calls: list[Call]) -> list[str]:
        """The containers the script removes before and after: the test's and any it created."""
        ids: list[str] = []
        created = (c.operation.container for c in calls if c.operation.name == "create")
        for cid in [*(cid for b in self.bundles for cid in b.ids), *created]:
            if cid and not cid.startswith("-") and cid not in ids:
                ids.append(cid)
        return ids

    def _in_folder(self, folder: str | None, body: list[str]) -> list[str]:
        """``body`` run in the kept equivalent of the folder a call ran in (the current one if none)."""
        if folder is None:
            return body
        for bundle in self.bundles:
            if folder == str(bundle.original):
                return ["# ocitest ran this in the bundle folder", f'cd "$HERE/{bundle.name}" || exit 2', *body,
                        "cd - >/dev/null || exit 2"]
            if folder == str(bundle.original.parent):
                return ["# ocitest ran this in the bundles' parent folder; here, $HERE", 'cd "$HERE" || exit 2', *body,
                        "cd - >/dev/null || exit 2"]
        return [f"# ocitest ran this in {_comment(folder)}, which is not kept; here, the current folder", *body]

    def _call(self, number: int, call: Call) -> list[str]:
        op = call.operation
        if op.name in ("create", "start"):
            self.exited.discard(op.container or "")
        line = " ".join(self.word(w) for w in call.argv[1:])
        line = (f"call_within {max(1, int(call.duration + 0.999))} " if call.timed_out else "call ") + line
        lines = []
        if op.inherited:
            lines.append(f"# ocitest passed open descriptors {', '.join(map(str, op.inherited))}; the shell has "
                         "none there, so this differs from ocitest's call")
        caller = _as_caller(op)
        if caller:
            lines.append(f"AS_CALLER={shlex.quote(caller)}  # ocitest made the call as this caller (util-linux tools)")
        if op.name == "create":
            body = self._create(number, call, line)
        else:
            if op.stdin == "test":
                lines.append("# ocitest gave this call a pipe of the test's as stdin; here, /dev/null")
            body = self._in_folder(op.cwd, [line + " </dev/null"])
        return lines + body + (['AS_CALLER=""'] if caller else [])

    def _create(self, number: int, call: Call, line: str) -> list[str]:
        op = call.operation
        lines = []
        if op.console == "fd":
            lines.append("# ocitest passed an open console socket (see above); nothing is at that descriptor here")
        elif op.console:
            lines.append("# ocitest listened on this console socket; nothing does here (see the top)")
        target = self.kept.get(op.bundle or "")
        if target is None:
            lines.append("# this bundle was not one of the test's containers: not kept, the call will differ")
            return lines + self._in_folder(op.cwd, [line + " </dev/null"])
        # One held stdin per create: two containers of one bundle must not share one.
        key = f"in{number}"
        self.holders.setdefault((op.container or "", str(target.original)), []).append(key)
        if op.stdin == "test":
            lines.append("# ocitest gave the container a stdin of the test's own; here, a held FIFO")
        b = f'"$HERE/{target.name}'
        redirected = f'{line} <{b}/stdin-{number}" >>{b}/stdout" 2>>{b}/stderr"'
        return [f'hold_stdin {key} {b}/stdin-{number}"', *lines, *self._in_folder(op.cwd, [redirected]),
                f"show {target.name}"]

    def _step(self, step: Step) -> list[str]:
        cid = shlex.quote(step.container)
        bundle = self.kept.get(step.bundle)
        if step.kind is StepKind.START_TOKEN:
            return [f": >{self.word(step.detail)}  # ocitest marks start as invoked for the program"]
        if step.kind is StepKind.CLOSE_STDIN:
            keys = self.holders.get((step.container, step.bundle), [])
            return ["# ocitest closed the container's stdin here", *(f"release {key}" for key in keys)]
        if step.kind is StepKind.WAIT_OUTPUT:
            if bundle is None:
                return [f"# ocitest waited for {_comment(step.detail)!r} on the container's stdout (not kept)"]
            return [f"wait_output {bundle.name} {shlex.quote(step.detail)}  # ocitest waited for this on stdout"]
        if step.kind is StepKind.WAIT_EXIT:
            self.exited.add(step.container)
            return [f"wait_stopped {cid}  # ocitest waited for the program's exit here"]
        if step.container in self.exited:
            return ["# ocitest read the container's stdout and stderr to their end here (the program had exited)"]
        return [f"wait_stopped {cid}  # ocitest read the container's stdout and stderr to their end here"]


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

