"""Data files shipped with the package (the rootfs recipe)."""
