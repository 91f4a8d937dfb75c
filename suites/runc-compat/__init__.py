"""runc compatibility: runc's command line beyond the lifecycle, as container engines call it.

containerd (through go-runc), CRI-O and Podman (through conmon) and BuildKit drive every low-level
runtime with runc's commands: exec, pause, resume, update, ps, list, events, run, kill --all,
delete --force, spec, and global options such as --root and --log-format. This suite calls them with
the argv those engines pass and judges what the engines rely on, against runc's manual at the pinned
release (ocitest/catalog/runc_compat.toml; its verdict is a scope of its own, outside the
runtime-spec colour).
"""
