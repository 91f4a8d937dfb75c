"""config.md: root, mounts, process, user, capabilities, rlimits, hostname, hooks, annotations, terminal."""
