"""What runs inside the container, and the parser of what it prints.

Programs are busybox ``sh -c`` scripts (one exception: ``i386_mkdir_program``, see elf.py).
Facts go to stdout as lines ``ocitest:KEY VALUE`` so the host can pick them out of anything else
the program prints. Waiting inside the container is event-driven too: the program blocks on
``read`` from the stdin pipe the harness holds, so the harness ends it by writing ``stop`` or
closing the pipe, never by a timer.
"""

from __future__ import annotations

from .config import EXCHANGE_DIR
from .container import START_TOKEN
from .elf import i386_mkdir_program as i386_mkdir_program  # the one program that is no shell script (elf.py)
from .view import serve_asks

PREFIX = "ocitest:"
READY = f"{PREFIX}ready"


def sh(*lines: str) -> list[str]:
    """``process.args`` running the given shell lines in busybox sh."""
    return ["/bin/sh", "-c", "\n".join(lines)]


def say(key: str, value: str = "") -> str:
    """A shell line printing one fact (``value`` is shell text, so ``$x`` expands)."""
    return f'echo "{PREFIX}{key} {value}"'


def report_signals(*names: str) -> list[str]:
    """Trap each signal and print ``ocitest:signal NAME`` when it arrives (then carry on)."""
    return [f"trap '{say('signal', name)}; got=1' {name}" for name in names]


def fork_until_refused(tries: int) -> list[str]:
    """``process.args`` that start up to ``tries`` background sleeps, printing ``ocitest:forked N`` after each.

    busybox sh gives up at the first fork the kernel refuses (it exits with status 2), so the number of
    ``forked`` lines is how many processes the program could start besides itself. The sleeps end with
    the container: the shell is its pid 1.
    """
    return sh("i=0", f"while [ $i -lt {tries} ]; do", "  sleep 1000 </dev/null &", "  i=$((i+1))",
              f"  {say('forked', '$i')}", "done")


def wait_for_stdin() -> list[str]:
    """Print READY, then block until stdin says ``stop`` or reaches EOF, answering each ``ask``
    line meanwhile (view.py: the inside view of a sandboxed runtime's program asks this way).

    A trapped signal interrupts ``read``; the loop notices (``got`` set by the trap) and keeps
    waiting instead of taking it for EOF.
    """
    return [
        f'echo "{READY}"',
        "while :; do",
        "  got=",
        '  if read -r line; then',
        '    case "$line" in stop) exit 0;; ' + serve_asks() + ' esac',
        "    continue",
        "  fi",
        '  [ -n "$got" ] && continue',
        "  exit 0",
        "done",
    ]


def waiting(*before: str) -> list[str]:
    """``process.args`` that run ``before``, print READY and wait for stdin (see wait_for_stdin)."""
    return sh(*before, *wait_for_stdin())


def report_start_order() -> str:
    """Print whether the harness had already invoked ``start`` when this program began.

    The harness creates the token just before it calls ``start``; a program that runs during
    ``create`` finds no token. This is decided by the program itself, so no race is involved.
    """
    token = f"{EXCHANGE_DIR}/{START_TOKEN}"
    return f'if [ -e {token} ]; then {say("started-after-start", "yes")}; else {say("started-after-start", "no")}; fi'


def touch_in_exchange(name: str) -> str:
    return f"touch {EXCHANGE_DIR}/{name}"


def facts(output: str) -> dict[str, list[str]]:
    """All ``ocitest:KEY VALUE`` lines of ``output``, as KEY -> [VALUE, ...] in order."""
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        if line.startswith(PREFIX):
            key, _, value = line[len(PREFIX):].partition(" ")
            found.setdefault(key, []).append(value)
    return found


#: The only hook kind whose ``path`` resolves in the container namespace (config.md#configHooks);
#: createContainer runs in the container namespace but before pivot_root, with a host path.
CONTAINER_PATH_HOOKS = ("startContainer",)
HOOK_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def recording_hook(kind: str, exchange_host: str, *, name: str | None = None, exit_code: int = 0) -> dict:
    """A hook entry that saves the state it gets on stdin as ``hook-NAME.json`` in the exchange folder.

    startContainer runs the rootfs's busybox sh and writes to /ocitest; every other kind runs
    the host's /bin/sh and writes to the host path of the folder (createContainer too: it runs
    before pivot_root, where the host's paths are still visible).
    """
    folder = EXCHANGE_DIR if kind in CONTAINER_PATH_HOOKS else exchange_host
    script = f"cat > {folder}/hook-{name or kind}.json"
    if exit_code:
        script += f"; exit {exit_code}"
    return {"path": "/bin/sh", "args": ["sh", "-c", script], "env": [HOOK_PATH_ENV]}


def report_hooks_seen() -> str:
    """Print ``ocitest:hook-seen FILE`` for each hook file (recording_hook) present when the program starts."""
    return f'for f in {EXCHANGE_DIR}/hook-*.json; do [ -e "$f" ] && {say("hook-seen", "${f##*/}")}; done'


# -- runc's further commands (the runc-compat suite) --------------------------------------------------

#: The namespace kinds a process reports with ``report_namespaces`` (the links /proc/self/ns has).
NAMESPACE_LINKS = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts")


def report_namespaces() -> list[str]:
    """Print ``ocitest:ns KIND LINK`` for each namespace of the program, and ``ocitest:cgroup LINE``
    for each line of its /proc/self/cgroup: where the program is, as it sees it itself."""
    return [f'for n in {" ".join(NAMESPACE_LINKS)}; do echo "{PREFIX}ns $n $(readlink /proc/self/ns/$n)"; done',
            f'while read -r l; do echo "{PREFIX}cgroup $l"; done </proc/self/cgroup']


def report_identity() -> list[str]:
    """Print the program's env (``ocitest:env N=V``), cwd, ids (``uid:gid:groups``), capability bounding
    and effective sets, no_new_privs and RLIMIT_NOFILE (``soft hard``), as the program sees them."""
    return [
        f'env | while IFS= read -r l; do echo "{PREFIX}env $l"; done',
        say("cwd", "$(pwd)"),
        say("ids", "$(id -u):$(id -g):$(id -G)"),
        "while read -r k v; do case $k in CapBnd:|CapEff:|NoNewPrivs:) "
        f'echo "{PREFIX}${{k%:}} $v";; esac; done </proc/self/status',
        say("nofile", "$(ulimit -n) $(ulimit -Hn)"),
    ]


def ticker(name: str) -> str:
    """A shell function call printing ``ocitest:tick NAME SEQ UPTIME`` every 20 ms, forever: the program's
    own clock (/proc/uptime, 10 ms steps) shows whether, and for how long, it was stopped."""
    return (f'i=0; while :; do i=$((i+1)); read -r u _ </proc/uptime; echo "{PREFIX}tick {name} $i $u"; '
            "usleep 20000; done")


def ticks(output: str, name: str) -> list[tuple[int, float]]:
    """The ``(SEQ, UPTIME)`` of each tick ``name`` printed (see ``ticker``), in order."""
    found = []
    for value in facts(output).get("tick", []):
        parts = value.split()
        if len(parts) == 3 and parts[0] == name:
            found.append((int(parts[1]), float(parts[2])))
    return found
