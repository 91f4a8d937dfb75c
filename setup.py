"""Package discovery; everything else about the package is in pyproject.toml.

Two folders live at the top of the checkout, where a runtime author reads them, and ship inside
the package: ``suites/`` as ``ocitest.suites`` (so an installed ``ocitest run`` finds them) and
``bundles/`` as ``ocitest/bundles`` (the bundle templates). pyproject.toml's ``packages.find``
cannot rename what it finds, so the listing is made here: a new ``suites/<area>/`` or
``ocitest/<package>/`` ships without anyone editing a list.
"""

from setuptools import find_packages, setup

#: Top-level folder -> the package name it ships as.
SHIPPED_INSIDE = {"suites": "ocitest.suites", "bundles": "ocitest.bundles"}

packages = find_packages(include=["ocitest", "ocitest.*"])
package_dir = {}
for folder, name in SHIPPED_INSIDE.items():
    package_dir[name] = folder
    packages += [name, *(f"{name}.{sub}" for sub in find_packages(folder))]

setup(packages=packages, package_dir=package_dir)
