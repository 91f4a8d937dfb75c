"""Lets `pytest suites/ --runtime PATH` work from a checkout without installing the package.

When ocitest is installed, its pytest11 entry point is named "ocitest.plugin", so pytest sees
the plugin as already loaded and this line does nothing.
"""

pytest_plugins = ["ocitest.plugin"]
