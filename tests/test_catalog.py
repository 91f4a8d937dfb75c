"""The requirement catalog is well-formed, covers the census's runtime-bound sentences, and every entry has a test.

The census facts come from tests/census_facts.toml (see tests/census.py), so these run in any clone.
"""

import json
import re
import subprocess
import sys
import textwrap

import pytest

from ocitest.requirements import load_catalog
from ocitest.specversion import RELEASES, version_key

from . import census, runtime_tools_codes
from .conftest import ROOT

#: Section anchors of runtime-spec v1.3.0 runtime.md (<a name="..."> in the document).
RUNTIME_MD_ANCHORS = {
    "runtimeAndLifecycle", "runtimeScopeContainer", "runtimeState", "runtimeLifecycle", "runtimeErrors",
    "runtimeWarnings", "runtimeOperations", "runtimeQueryState", "runtimeCreate", "runtimeStart",
    "runtimeKill", "runtimeDelete", "runtimeHooks",
}


#: Section anchors of v1.3.0 config.md, plus the slug of its one normative heading without an anchor.
CONFIG_MD_ANCHORS = {
    "configuration", "configSpecificationVersion", "configRoot", "configMounts", "configLinuxMountOptions",
    "configPOSIXMounts", "configProcess", "configPOSIXProcess", "configLinuxProcess", "configZOSProcess",
    "configUser", "configPOSIXUser", "configWindowsUser", "configHostname", "configDomainname",
    "configPlatformSpecificConfiguration", "configHooks", "configHooksPrestart", "configHooksCreateRuntime",
    "configHooksCreateContainer", "configHooksStartContainer", "configHooksPoststart", "configHooksPoststop",
    "configAnnotations", "configExtensibility", "valid-values",
}
#: Section anchors of v1.3.0 config-linux.md, plus the slugs of its two normative headings without one.
CONFIG_LINUX_MD_ANCHORS = {
    "linuxContainerConfiguration", "configLinuxDefaultFilesystems", "configLinuxNamespaces",
    "configLinuxUserNamespaceMappings", "configLinuxTimeOffset", "configLinuxDevices", "configLinuxDefaultDevices",
    "configLinuxNetworkDevices", "configLinuxControlGroups", "configLinuxCgroupsPath", "configLinuxDeviceAllowedlist",
    "configLinuxMemory", "configLinuxCPU", "configLinuxBlockIO", "configLinuxHugePageLimits", "configLinuxNetwork",
    "configLinuxPIDS", "configLinuxRDMA", "configLinuxUnified", "configLinuxIntelRdt", "configLinuxMemoryPolicy",
    "configLinuxSysctl", "configLinuxSeccomp", "containerprocessstate", "configLinuxRootfsMountPropagation",
    "configLinuxMaskedPaths", "configLinuxReadonlyPaths", "configLinuxMountLabel", "configLinuxPersonality",
    "namespace-lifecycle-and-container-termination", "cgroup-ownership",
}
RUNTIME_LINUX_MD_ANCHORS = {"linuxRuntime", "runtimeLinuxFileDescriptors", "runtimeLinuxDevSymbolicLinks"}
#: Heading slugs of runtime-tools v0.9.0 docs/command-line-interface.md (GitHub's anchors; the
#: three "Example" headings are example, example-1, example-2).
CLI_MD_ANCHORS = {
    "oci-runtime-command-line-interface", "notation", "compliance", "versioning", "global-usage",
    "global-options", "character-encodings", "commands", "create", "console-socket", "requests", "responses",
    "example", "container-process-exit", "start", "state", "example-1", "kill", "example-2", "delete",
}
KNOWN_ANCHORS = {"runtime.md": RUNTIME_MD_ANCHORS, "config.md": CONFIG_MD_ANCHORS,
                 "config-linux.md": CONFIG_LINUX_MD_ANCHORS, "runtime-linux.md": RUNTIME_LINUX_MD_ANCHORS,
                 "command-line-interface.md": CLI_MD_ANCHORS}
#: Section anchors of v1.3.0 features.md and features-linux.md (features-linux.md gives its SELinux
#: section the AppArmor section's anchor a second time, so it has no anchor of its own).
FEATURES_MD_ANCHORS = {
    "features", "featuresSpecificationVersion", "featuresHooks", "featuresMountOptions",
    "featuresPlatformSpecificFeatures", "featuresAnnotations", "featuresPotentiallyUnsafeConfigAnnotations",
}
FEATURES_LINUX_MD_ANCHORS = {
    "linuxFeatures", "linuxFeaturesNamespaces", "linuxFeaturesCapabilities", "linuxFeaturesCgroup",
    "linuxFeaturesSeccomp", "linuxFeaturesApparmor", "linuxFeaturesMemoryPolicy", "linuxFeaturesIntelRdt",
    "linuxFeaturesMountExtensions", "linuxFeaturesNetDevices",
}
KNOWN_ANCHORS.update({"features.md": FEATURES_MD_ANCHORS, "features-linux.md": FEATURES_LINUX_MD_ANCHORS})


#: The headings runc's manual pages have (man/runc*.8.md at v1.1.5 and v1.5.1), as GitHub anchors.
MAN_ANCHORS = {"name", "synopsis", "description", "options", "exit-status", "examples", "see-also", "commands",
               "global-options"}


def test_ids_levels_and_references_are_well_formed():
    catalog = load_catalog()
    assert len(catalog) >= 45
    for req in catalog:
        assert re.fullmatch(r"[a-z]+\.[A-Za-z0-9-]+", req.id), req.id
        assert req.level in ("MUST", "SHOULD", "MAY")
        assert re.fullmatch(r"https://github\.com/opencontainers/"
                            r"(runtime-spec/blob/v1\.3\.0|runtime-tools/blob/v0\.9\.0/docs|runc/blob/v1\.(5\.1|1\.5)/man)"
                            r"/[\w.-]+\.md#[\w-]+", req.reference), req.reference
        assert req.reference.endswith(f"{req.page or req.document}#{req.anchor}")
        assert req.summary and req.summary[-1] in ".)", req.id
        if req.page:  # runc's manual: its level-1 headings (NAME, OPTIONS, EXIT STATUS, GLOBAL OPTIONS, ...)
            assert req.anchor in MAN_ANCHORS, f"{req.id}: {req.anchor} is not a heading of runc's manual pages"
            assert req.group and req.engines, f"{req.id}: a runc-compatibility entry names its command and engines"
        else:
            assert req.anchor in KNOWN_ANCHORS[req.document], f"{req.id}: {req.anchor} is not a {req.document} anchor"
        if not req.covered:
            assert req.why, f"{req.id} is left out without saying why"


#: The census facts (tests/census_facts.toml): what the coverage tests below measure the catalog against.
FACTS = census.load()


#: The versions of runtime-tools' command-line-interface document (its own numbering, not runtime-spec's).
CLI_DOCUMENT_VERSIONS = ("1.0.0", "1.0.1")


def test_every_entry_has_since_a_release_of_its_document():
    """``since`` dates each requirement, so a runtime is judged only on what its declared release says."""
    catalog = load_catalog()
    missing = [req.id for req in catalog if req.since is None]
    assert not missing, f"{len(missing)} entries without since, e.g. {missing[:10]}"
    for req in catalog:
        allowed = CLI_DOCUMENT_VERSIONS if req.scope == "command-line-interface" else RELEASES
        assert req.since in allowed, f"{req.id}: since {req.since!r} is not one of {allowed}"
        for change in req.changes:
            assert change.version in allowed and change.note, f"{req.id}: change {change}"
            assert version_key(change.version) > version_key(req.since), f"{req.id}: change before since"


def test_basis_names_a_document_and_an_anchor_of_the_same_release():
    for req in load_catalog():
        for item, url in zip(req.basis, req.basis_references, strict=True):
            document, _, anchor = item.partition("#")
            assert anchor in KNOWN_ANCHORS.get(document, set()), f"{req.id}: basis {item}"
            assert url.startswith(req.reference.rsplit("/", 1)[0] + "/"), url


def test_the_census_facts_add_up_to_the_census_counts():
    for document, count in FACTS.runtime_bound.items():
        found = FACTS.runtime_bound_ids(document)
        assert len(found) == count, f"{document}: {len(found)} runtime-bound sentences listed, the census has {count}"


@pytest.mark.skipif(not census.CENSUS.exists(), reason=(
    f"{census.CENSUS} is not there (the census sits in the project's shared folder beside the checkout); "
    "the coverage tests use tests/census_facts.toml, which this test compares with the census"))
def test_the_census_facts_are_those_of_the_census():
    made = census.parse(census.CENSUS.read_text())
    assert made == FACTS, "tests/census_facts.toml is out of date: run `python -m tests.census`"


def test_every_runtime_bound_must_of_runtime_md_is_in_the_catalog():
    rows = FACTS.sentences["runtime.md"]
    wanted = FACTS.runtime_bound_ids("runtime.md")
    assert len(wanted) == 45
    catalog = load_catalog()
    covered = {cid for req in catalog for cid in req.census}
    assert not wanted - covered, f"census sentences with no requirement: {sorted(wanted - covered)}"
    for req in catalog:
        for cid in req.census:
            if cid.startswith("RT-"):
                section = rows[cid].section
                assert section == req.anchor, f"{req.id}: {cid} is under {section}, not {req.anchor}"


def collected_requirements(*paths: str, runtime: bool = False) -> dict[str, list[str]]:
    """nodeid -> requirement IDs of every test pytest collects under ``paths``."""
    script = textwrap.dedent("""
        import json, sys, pytest
        found = {}
        class Grab:
            def pytest_collection_finish(self, session):
                for item in session.items:
                    found[item.nodeid] = [a for m in item.iter_markers("requirement") for a in m.args]
        code = pytest.main(sys.argv[1:] + ["--collect-only", "-q", "-p", "no:cacheprovider"], plugins=[Grab()])
        print("RESULT" + json.dumps({"code": int(code), "found": found}))
    """)
    out = subprocess.run([sys.executable, "-c", script, *paths], capture_output=True, text=True, cwd=ROOT, timeout=120)
    line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


def test_every_requirement_has_a_test_and_every_test_a_known_requirement():
    result = collected_requirements("suites")
    assert result["code"] == 0
    used = {rid for ids in result["found"].values() for rid in ids}
    catalog = load_catalog()
    assert not [n for n, ids in result["found"].items() if not ids], "suite tests without @requirement"
    assert used <= set(catalog.requirements), used - set(catalog.requirements)
    missing = [req.id for req in catalog if req.covered and req.id not in used]
    assert not missing, f"catalog requirements without a test: {missing}"


def test_an_unknown_requirement_id_is_a_collection_error(tmp_path):
    (tmp_path / "test_typo.py").write_text(textwrap.dedent("""
        from ocitest import requirement

        @requirement("runtime.no-such-requirement")
        def test_x():
            pass
    """))
    out = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-p", "ocitest.plugin",
                          "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode != 0
    assert "unknown requirement ID 'runtime.no-such-requirement'" in out.stdout
    assert "error" in out.stdout.lower()


#: config.md census sentences that do not apply on Linux.
NOT_LINUX = {"CF-017": "mounts `ro` on Windows"}


def test_every_runtime_bound_must_and_should_of_config_md_is_in_the_catalog():
    wanted = FACTS.runtime_bound_ids("config.md")
    assert len(wanted) >= 70
    covered = {cid for req in load_catalog() for cid in req.census}
    missing = sorted(wanted - covered - set(NOT_LINUX))
    assert not missing, f"config.md census sentences with no requirement: {missing}"


def test_every_runtime_bound_must_and_should_of_config_linux_md_is_in_the_catalog():
    wanted = FACTS.runtime_bound_ids("config-linux.md")
    assert len(wanted) >= 67
    covered = {cid for req in load_catalog() for cid in req.census}
    missing = sorted(wanted - covered)
    assert not missing, f"config-linux.md census sentences with no requirement: {missing}"


def test_the_runtime_bound_must_of_runtime_linux_md_is_in_the_catalog():
    wanted = FACTS.runtime_bound_ids("runtime-linux.md")
    assert wanted == {"RL-003"}
    covered = {cid for req in load_catalog() for cid in req.census}
    assert wanted <= covered


def test_every_runtime_bound_sentence_of_the_features_documents_is_in_the_catalog():
    rows = {**FACTS.sentences["features.md"], **FACTS.sentences["features-linux.md"]}
    wanted = FACTS.runtime_bound_ids("features.md") | FACTS.runtime_bound_ids("features-linux.md")
    assert len(wanted) == 19 and "FE-004" not in wanted, sorted(wanted)
    by_census = {cid: req for req in load_catalog() for cid in req.census if cid[:3] in ("FE-", "FL-")}
    missing = sorted(wanted - set(by_census))
    assert not missing, f"features census sentences with no requirement: {missing}"
    for cid, req in by_census.items():
        anchor, level = rows[cid].section, rows[cid].level
        assert req.document == ("features.md" if cid.startswith("FE-") else "features-linux.md"), f"{req.id}: {cid}"
        assert (req.anchor, req.level) == (anchor, level), f"{req.id}: {cid} is a {level} under {anchor}"


def test_every_runtime_tools_code_of_runtime_behaviour_is_mapped_and_only_real_codes_are():
    mapped = {code for req in load_catalog() for code in req.runtime_tools}
    unknown = sorted(mapped - runtime_tools_codes.ALL_CODES)
    assert not unknown, f"runtime_tools names codes runtime-tools' specerror package does not have: {unknown}"
    both = sorted(mapped & runtime_tools_codes.UNMAPPED)
    assert not both, f"codes listed as config-, bundle- or Windows-bound are mapped after all: {both}"
    left = sorted(runtime_tools_codes.ALL_CODES - mapped - runtime_tools_codes.UNMAPPED)
    assert not left, f"runtime-tools codes of runtime behaviour with no catalog entry: {left}"
    assert sum(1 for req in load_catalog() if req.runtime_tools) >= 78
