"""The fixtures a suite test asks for: the runtime, bundles, containers (and the harness behind them).

Registered by the plugin (``pytest_plugins`` in plugin.py), so a checkout's conftest.py, the
installed entry point and every xdist worker get the same ones. Each worker sets up its own
harness (rootfs, schemas, subreaper) once; a test's containers are removed after it, and what
they looked like is kept first for the report of a test that did not pass.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import evidence, reproducer
from .bundle import Bundle, BundleFactory
from .caller import become_subreaper
from .container import Container, LiveContainers, Timeouts
from .environment import Environment, scratch_base
from .host import delegated_cgroup
from .lifecycle import Prerequisites
from .rootfs import build_rootfs
from .runstate import (
    CONTAINER_SNAPSHOTS,
    DID_NOT_PASS,
    FAILURE,
    NO_RUNTIME,
    RECORD,
    STATE,
    requirement_ids,
    runtime_self_description,
)
from .runtime import Event, Runtime, RuntimeInfo
from .schema import Schemas


@dataclass
class Harness:
    """What one pytest process (one xdist worker) sets up once: rootfs, schemas, runtime facts."""

    env: Environment
    info: RuntimeInfo
    timeouts: Timeouts
    schemas: Schemas
    bundles: BundleFactory
    live: LiveContainers
    workdir: Path
    #: What the preflight found broken (lifecycle.py): checks that need it are not judged.
    prerequisites: Prerequisites = field(default_factory=Prerequisites)


@pytest.fixture(scope="session")
def ocitest_harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    state = request.config.stash[STATE]
    if state.env is None:
        pytest.exit(f"ocitest: {NO_RUNTIME}", returncode=2)
    become_subreaper()
    workdir = Path(tempfile.mkdtemp(prefix="ocitest-", dir=scratch_base()))
    live = LiveContainers()

    def cleanup() -> None:
        try:
            live.remove_all()  # raises a Ctrl-C it held off (interrupt.py) only after removing them
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(cleanup)
    try:
        info = runtime_self_description(request.config)
        assert info is not None  # there is a runtime (env), so it was asked
        schemas = Schemas(state.env.schema_dir)
        rootfs = build_rootfs(workdir / "rootfs", state.env.busybox)
        harness = Harness(
            env=state.env, info=info,
            timeouts=state.timeouts(),
            schemas=schemas, bundles=BundleFactory(workdir / "bundles", rootfs, schemas, info.oci_version,
                                                   rootless=state.env.rootless, cgroup_driver=info.cgroup_driver,
                                                   cgroup_base=(delegated_cgroup() or "") if state.env.rootless
                                                   else ""),
            live=live, workdir=workdir,
            prerequisites=state.lifecycle.prerequisites() if state.lifecycle else Prerequisites(),
        )
        yield harness
    finally:
        cleanup()
        atexit.unregister(cleanup)


@pytest.fixture
def runtime(ocitest_harness: Harness, request: pytest.FixtureRequest) -> Runtime:
    """The runtime under test, recording each call (and the harness's steps) in this test's record."""
    record: list[Event] = []
    request.node.stash[RECORD] = record
    runtime = ocitest_harness.info.new_runtime(ocitest_harness.timeouts.runtime, record,
                                               request.config.stash[STATE].stalls)
    runtime.before_delete = ocitest_harness.live.settle_for
    return runtime


@pytest.fixture
def runtime_info(ocitest_harness: Harness) -> RuntimeInfo:
    """What the runtime says about itself: version, declared spec version, ``features`` (or None)."""
    return ocitest_harness.info


@pytest.fixture
def schemas(ocitest_harness: Harness) -> Schemas:
    """The runtime-spec JSON Schemas (``schemas.state_errors(state)``)."""
    return ocitest_harness.schemas


@pytest.fixture
def new_bundle(ocitest_harness: Harness) -> Iterator[Callable[[], Bundle]]:
    """Factory of fresh bundles (default config, own rootfs copy); removed after the test."""
    made: list[Bundle] = []

    def make() -> Bundle:
        bundle = ocitest_harness.bundles.new()
        made.append(bundle)
        return bundle

    yield make
    for bundle in made:
        BundleFactory.remove(bundle)


@pytest.fixture
def new_container(ocitest_harness: Harness, runtime: Runtime, new_bundle: Callable[[], Bundle],
                  request: pytest.FixtureRequest) -> Iterator[Callable[..., Container]]:
    """Factory of containers: ``new_container(args)``; each is force-removed after the test."""
    made: list[Container] = []

    def make(args: list[str] | None = None, *, bundle: Bundle | None = None,
             container_id: str | None = None) -> Container:
        bundle = bundle or new_bundle()
        if args is not None:
            bundle.set_args(args)
        container = Container(runtime, bundle, ocitest_harness.live, ocitest_harness.timeouts, container_id,
                              ocitest_harness.prerequisites)
        made.append(container)
        return container

    yield make
    request.node.stash[CONTAINER_SNAPSHOTS] = [evidence.of_container(c) for c in made if c.bundle is not None]
    problems = []
    for container in reversed(made):
        problems += container.remove()
    keep_dir = request.config.getoption("ocitest_keep_failed")
    if keep_dir and made and request.node.stash.get(DID_NOT_PASS, False):
        # The bundles are still there (new_bundle removes them after this fixture).
        reproducer.keep(Path(keep_dir), request.node.nodeid, made, request.node.stash.get(RECORD, []),
                        ocitest_harness.bundles.rootfs_template, requirements=requirement_ids(request.node),
                        failure=request.node.stash.get(FAILURE, ""))
    if problems:
        pytest.fail("cleanup left the runtime in a bad state: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def unknown_container_id() -> str:
    """A container ID no runtime knows: shaped like the harness's own IDs, never handed to create."""
    return f"ocitest-{os.getpid()}-no-such-container"
