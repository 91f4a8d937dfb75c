#!/usr/bin/env bash
# The recipe of the VM's disk image: Debian 12 with systemd as PID 1 on a pure cgroup v2 hierarchy,
# Debian's kernel, runc, crun, busybox-static, the runtime-spec schemas and a virtualenv with
# ocitest's dependencies (from WHEELHOUSE; ocitest itself comes with each run). Run as root by
# scripts/vm, which keys the cached image on a hash of this file: any edit here rebuilds it.
#
#   vm/image.sh WORKDIR WHEELHOUSE   ->  WORKDIR/disk.img, WORKDIR/vmlinuz, WORKDIR/initrd.img
#
# WORKDIR/root is the tree the image is made from (scripts/vm removes it). The Debian mirror is the
# one this host's apt uses ($OCITEST_VM_MIRROR overrides it).
set -euo pipefail
work=$1
wheelhouse=$2
root=$work/root
suite=bookworm
packages=(
  systemd systemd-sysv dbus dbus-user-session libpam-systemd udev kmod linux-image-amd64
  runc crun criu iptables busybox-static golang-github-opencontainers-specs-dev
  python3 python3-venv iproute2 util-linux uidmap
)

host_mirror() {
  # deb822 sources first (Debian 12's default), then the one-line format.
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
  fi
  echo "$uri"
}
mirror=${OCITEST_VM_MIRROR:-$(host_mirror)}
if [ -z "$mirror" ]; then
  echo "vm/image.sh: no Debian mirror found in this host's apt sources; set OCITEST_VM_MIRROR" >&2
  exit 2
fi

include=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  echo "vm/image.sh: debootstrap failed; the end of its log:" >&2
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}

echo ocitest-vm >"$root/etc/hostname"
echo "127.0.1.1 ocitest-vm" >>"$root/etc/hosts"
echo "/dev/vda / ext4 rw,relatime 0 1" >"$root/etc/fstab"
# No login prompt (it would hang up the console the job writes to) and nothing that is not needed.
for unit in serial-getty@ttyS0.service getty@tty1.service systemd-timesyncd.service e2scrub_reap.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# The unprivileged user of the rootless run. Lingering starts its systemd user manager at boot,
# which gets a delegated cgroup subtree (user@.service has Delegate=yes) and a user D-Bus.
chroot "$root" useradd --create-home --uid 1500 --shell /bin/sh ocitest-rootless
mkdir -p "$root/var/lib/systemd/linger"
touch "$root/var/lib/systemd/linger/ocitest-rootless"
# What Debian's user@.service delegates is pids, memory and cpu; the rootless run may also limit io
# and cpuset, as a rootless podman host is usually set up to.
mkdir -p "$root/etc/systemd/system/user@.service.d"
cat >"$root/etc/systemd/system/user@.service.d/delegate.conf" <<'EOF'
[Service]
Delegate=cpu cpuset io memory pids
EOF

# The job: mount the folder scripts/vm shares, run its guest.sh, power off whatever happens.
cat >"$root/usr/local/sbin/ocitest-job" <<'EOF'
#!/bin/sh
mkdir -p /mnt/ocitest
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=1048576 ocitest /mnt/ocitest; then
  sh /mnt/ocitest/guest.sh >/mnt/ocitest/guest.log 2>&1
  echo "$?" >/mnt/ocitest/guest.status
  sync
fi
systemctl poweroff --no-block
EOF
chmod 755 "$root/usr/local/sbin/ocitest-job"
cat >"$root/etc/systemd/system/ocitest-job.service" <<'EOF'
[Unit]
Description=the ocitest job scripts/vm shares
After=multi-user.target user@1500.service
Wants=user@1500.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ocitest-job
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
EOF
ln -sf ../ocitest-job.service "$root/etc/systemd/system/multi-user.target.wants/ocitest-job.service"

# ocitest's dependencies, installed natively here (pip under emulation is slow).
mkdir "$root/tmp/wheelhouse"
cp "$wheelhouse"/*.whl "$root/tmp/wheelhouse/"
chroot "$root" /bin/sh -c 'python3 -m venv /opt/ocitest &&
  /opt/ocitest/bin/pip install -q --no-index --find-links /tmp/wheelhouse /tmp/wheelhouse/*.whl'
rm -rf "$root/tmp/wheelhouse" "$root/var/cache/apt/archives/"*.deb

kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
cp "$kernel" "$work/vmlinuz"
cp "$root/boot/initrd.img-${kernel##*/vmlinuz-}" "$work/initrd.img"
mkfs.ext4 -q -F -L ocitest-vm -d "$root" "$work/disk.img" 6G >/dev/null
