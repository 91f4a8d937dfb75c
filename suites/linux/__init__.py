"""config-linux.md and runtime-linux.md: namespaces, ID mappings, devices, cgroups, sysctl, seccomp,
paths, propagation."""
