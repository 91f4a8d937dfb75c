"""The features suite's parametrization (one test per listed element) and the `features` fixture."""

from __future__ import annotations

import pytest

from ocitest import RuntimeInfo

from .recognition import no_features_reason, parametrize_listed


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_listed(metafunc)


@pytest.fixture
def features(runtime_info: RuntimeInfo) -> dict:
    """The runtime's Features structure; without one every check of it is skipped, saying why."""
    if runtime_info.features is None:
        pytest.skip(no_features_reason(runtime_info))
    return runtime_info.features
