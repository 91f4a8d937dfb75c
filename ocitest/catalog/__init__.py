"""Requirement catalog data: one TOML file per spec document (see ocitest.requirements)."""
