"""The features checks can fail: a runtime whose `features` claims a name runc does not recognize, or
carries a property no spec version defines, is red on exactly the matching requirements (compared
with runc on the whole features suite). The runs validate against the v1.3.0 schemas, so that the
schema check takes part too."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import BAD_RUNTIMES, ROOT, assert_red_on_exactly, needs_root_and, run_ocitest

#: runtime-spec v1.3.0 JSON Schemas beside the checkout (with features-schema.json).
SCHEMA_DIR = ROOT.parent / "shared" / "runtime-spec-v1.3.0"
SUITE = ("--suite", "features", "--schema-dir", str(SCHEMA_DIR))

#: case -> (wrapper, its environment, the requirements that must turn red: exactly these)
CASES = {
    # a namespace type outside the schema's enum breaks features-schema.json as well
    "fake-namespace": ("features_claims_unknown", {"OCITEST_FAKE_CLAIM": "namespace"},
                       {"features.linux-namespaces-recognized", "features.schema"}),
    # mountOptions is an array of any strings in the schema; the SHOULD on filesystem-specific
    # options cannot classify a made-up name, so it skips
    "fake-mount-option": ("features_claims_unknown", {"OCITEST_FAKE_CLAIM": "mount-option"},
                          {"features.mount-options-recognized"}),
    # the schema does not forbid additional properties, so only the hand check sees it
    "extra-property": ("features_extra_property", {}, {"features.no-undefined-properties"}),
}


@needs_root_and("runc")
@pytest.mark.skipif(not (SCHEMA_DIR / "features-schema.json").is_file(),
                    reason=f"the runtime-spec v1.3.0 schemas are not at {SCHEMA_DIR}")
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_false_features_claim_is_red_on_exactly_its_requirement(case: str, runc_on, tmp_path: Path):
    wrapper, env, expected = CASES[case]
    run = run_ocitest(tmp_path, "--runtime", str(BAD_RUNTIMES / wrapper), *SUITE, env=env)
    assert_red_on_exactly(run, runc_on(*SUITE), expected, f"{wrapper} ({case})")
