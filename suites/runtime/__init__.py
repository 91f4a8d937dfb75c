"""runtime.md: state, lifecycle, errors, warnings and the five operations."""
