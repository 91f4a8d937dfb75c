"""Schema loading and validation: the Debian schemas and runtime-spec v1.3.0's (with its broken $ref)."""

import json
from pathlib import Path

import pytest

from ocitest.config import default_config
from ocitest.errors import EnvironmentProblem
from ocitest.schema import DEBIAN_SCHEMA_DIR, Schemas, locate_schema_dir

from .conftest import ROOT

V130 = ROOT.parent / "shared" / "runtime-spec-v1.3.0"
DIRS = [pytest.param(DEBIAN_SCHEMA_DIR, id="debian"), pytest.param(V130, id="v1.3.0")]


def schemas_or_skip(directory: Path) -> Schemas:
    if not (directory / "config-schema.json").exists():
        pytest.skip(f"no schemas at {directory}")
    return Schemas(directory)


@pytest.mark.parametrize("directory", DIRS)
def test_the_default_config_is_valid(directory):
    schemas = schemas_or_skip(directory)
    assert schemas.config_errors(default_config("1.0.2", "/tmp/exchange")) == []


@pytest.mark.parametrize("directory", DIRS)
def test_a_wrong_config_is_rejected_with_the_place_named(directory):
    schemas = schemas_or_skip(directory)
    config = default_config("1.0.2", "/tmp/exchange")
    config["process"]["args"] = "not a list"
    problems = schemas.config_errors(config)
    assert problems and problems[0].startswith("process/args:")


@pytest.mark.parametrize("directory", DIRS)
def test_uint32_arrays_resolve(directory):
    """v1.3.0's defs.json writes ArrayOfUint32's $ref as "#definitions/uint32"; it must still resolve."""
    schemas = schemas_or_skip(directory)
    config = default_config("1.0.2", "/tmp/exchange")
    config["process"]["user"]["additionalGids"] = [1, 2]
    assert schemas.config_errors(config) == []
    config["process"]["user"]["additionalGids"] = [-1]
    assert schemas.config_errors(config)


@pytest.mark.parametrize("directory", DIRS)
def test_state_documents(directory):
    schemas = schemas_or_skip(directory)
    good = {"ociVersion": "1.0.2", "id": "x", "status": "running", "pid": 4, "bundle": "/b", "annotations": {"a": "b"}}
    assert schemas.state_errors(good) == []
    assert schemas.state_errors({**good, "status": "Running"})
    assert schemas.state_errors({k: v for k, v in good.items() if k != "bundle"})


def test_the_spec_example_corpus():
    schemas = schemas_or_skip(V130)
    corpus = V130 / "test" / "config"
    for path in sorted((corpus / "good").glob("*.json")):
        assert schemas.config_errors(json.loads(path.read_text())) == [], path.name
    for path in sorted((corpus / "bad").glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except ValueError:
            continue
        assert schemas.config_errors(document), f"{path.name} should be rejected"


def test_a_missing_schema_dir_says_what_to_install(tmp_path):
    with pytest.raises(EnvironmentProblem, match="golang-github-opencontainers-specs-dev"):
        locate_schema_dir(str(tmp_path))


def test_the_features_schema_is_v1_1_and_later_only():
    """Debian's 1.0.2 folder has no features schema (the features checks skip there); v1.3.0's
    validates a Features structure through features-linux.json."""
    if (DEBIAN_SCHEMA_DIR / "config-schema.json").exists():
        assert not Schemas(DEBIAN_SCHEMA_DIR).has_features_schema
    schemas = schemas_or_skip(V130)
    assert schemas.has_features_schema
    features = {"ociVersionMin": "1.0.0", "ociVersionMax": "1.1.0", "linux": {"namespaces": ["pid", "mount"]}}
    assert schemas.features_errors(features) == []
    features["linux"]["namespaces"].append("no-such-namespace")
    del features["ociVersionMin"]
    problems = schemas.features_errors(features)
    assert (len(problems) == 2 and problems[0].startswith("(top level):")
            and problems[1].startswith("linux/namespaces/2:"))
