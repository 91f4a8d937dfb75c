"""Report writers: the terminal summary and the machine-readable JSON report."""
