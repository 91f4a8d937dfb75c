#!/bin/sh
# Runs inside the VM, as root, from the folder scripts/vm shares at /mnt/ocitest (the image's
# ocitest-job service starts it once systemd is up, and powers the VM off when it ends).
#
# The share holds wheels/ (this checkout's ocitest), src/ (the checkout's files, for the harness's
# own tests and its misbehaving runtimes) and `runs`: one run a line, `NAME MODE ARGS...`, where
# MODE is `root` (ocitest run as root), `rootless` (ocitest run --rootless as the user
# ocitest-rootless, inside a delegated cgroup of its systemd user manager) or `tests` (pytest on the
# harness's own tests). ARGS are shell words. Each run leaves out/NAME.log, out/NAME.status and,
# for ocitest runs, out/NAME.json and out/NAME.html.
set -u
share=/mnt/ocitest
out=$share/out
venv=/opt/ocitest
user=ocitest-rootless
mkdir -p "$out"
say() { echo "[vm $(cut -d' ' -f1 /proc/uptime)s] $*"; }

say "booted: kernel $(uname -r), /sys/fs/cgroup is $(stat -fc %T /sys/fs/cgroup)," \
    "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
if ! "$venv/bin/pip" install -q --no-deps --no-index "$share"/wheels/ocitest-*.whl; then
  say "could not install ocitest"
  exit 10
fi
{
  echo "kernel: $(uname -r)"
  echo "systemd: $(systemctl --version | head -1)"
  echo "cgroup: $(stat -fc %T /sys/fs/cgroup), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
  echo "runc: $(runc --version | head -1)"
  echo "crun: $(crun --version | head -1)"
} >"$out/facts.txt"
say "ocitest installed; $(tr '\n' ';' <"$out/facts.txt")"

uid=$(id -u "$user")
home=$(getent passwd "$user" | cut -d: -f6)
as_user() {
  # The user's own systemd manager runs the command as a transient unit with Delegate=yes: the
  # cgroup subtree a rootless engine gets on such a host (it is the process's to divide).
  runuser -u "$user" -- env XDG_RUNTIME_DIR="/run/user/$uid" \
    DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" \
    systemd-run --user --wait --pipe --quiet --collect -p Delegate=yes \
    --working-directory="$home" "$@"
}

while read -r name mode args; do
  case "$name" in ""|"#"*) continue ;; esac
  say "run $name ($mode): $args"
  start=$(cut -d' ' -f1 /proc/uptime)
  case "$mode" in
    root)
      rm -rf "/var/tmp/$name" && mkdir -p "/var/tmp/$name"
      (cd "/var/tmp/$name" && eval "$venv/bin/ocitest run $args --json $name.json --html $name.html") \
        >"$out/$name.log" 2>&1
      status=$?
      cp "/var/tmp/$name/$name.json" "/var/tmp/$name/$name.html" "$out/" 2>/dev/null
      rm -rf "/var/tmp/$name"
      ;;
    rootless)
      systemctl start "user@$uid.service"
      eval "as_user $venv/bin/ocitest run --rootless $args --json $home/$name.json --html $home/$name.html" \
        >"$out/$name.log" 2>&1
      status=$?
      cp "$home/$name.json" "$home/$name.html" "$out/" 2>/dev/null
      rm -f "$home/$name.json" "$home/$name.html"
      ;;
    tests)
      (cd "$share/src" && eval "$venv/bin/pytest -p no:cacheprovider $args") >"$out/$name.log" 2>&1
      status=$?
      ;;
    *)
      echo "unknown mode $mode" >"$out/$name.log"
      status=2
      ;;
  esac
  echo "$status" >"$out/$name.status"
  say "run $name: exit $status after $(echo "$(cut -d' ' -f1 /proc/uptime) $start" | awk '{printf "%d", $1 - $2}') s" \
      "$(tail -1 "$out/$name.log")"
done <"$share/runs"
# What the runs left behind: cgroups named after a container (ocitest-<pid>-<n>, the systemd
# driver's ocitest-<pid>-<n>.scope) or the harness's leaf.
left=$(find /sys/fs/cgroup -type d \( -name 'ocitest-[0-9]*' -o -name ocitest-harness \) 2>/dev/null | head -5)
say "left behind: ${left:-nothing}"
