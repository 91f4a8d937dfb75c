"""config.md, Hostname, Domainname, Annotations, Extensibility and Valid values.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configHostname
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configAnnotations
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configExtensibility

Left out: the `org.opencontainers.image.stopSignal` annotation (config.stop-signal-annotation). The
runtime's kill always has a signal to send (runtime.md: the specified signal; the command-line
document: TERM when `--signal` is not given), so the annotation is for the caller who picks it.
"""

import pytest

from ocitest import probe, requirement


def run_with(new_container, new_bundle, args, edit) -> tuple[object, str]:
    bundle = new_bundle()
    edit(bundle.config)
    return new_container(args, bundle=bundle).run_to_exit()


def run_unless_refused(new_container, new_bundle, args, **fields) -> str:
    """Run ``args`` with ``fields`` set in the config; the program's output.

    A runtime that cannot apply a field refuses the config with an error (runtime.md#runtimeCreate):
    compliant, so the check is skipped, naming the error.
    """
    bundle = new_bundle()
    bundle.config.update(fields)
    container = new_container(args, bundle=bundle)
    container.create_unless_refused(", ".join(f"`{name}`" for name in fields))
    container.start()
    container.wait_exit()
    return container.output()


@requirement("config.hostname")
def test_the_program_sees_the_configured_hostname(new_container, new_bundle):
    out = run_unless_refused(new_container, new_bundle, probe.sh(probe.say("hostname", "$(uname -n)")),
                             hostname="ocitest-h0stname")
    assert probe.facts(out).get("hostname") == ["ocitest-h0stname"], f"hostname: the program saw {out!r}"


@requirement("config.domainname")
def test_the_program_sees_the_configured_domainname(new_container, new_bundle):
    out = run_unless_refused(new_container, new_bundle,
                             probe.sh(probe.say("domain", "$(cat /proc/sys/kernel/domainname)")),
                             domainname="ocitest.example")
    assert probe.facts(out).get("domain") == ["ocitest.example"], f"domainname: the program saw {out!r}"


@requirement("config.annotations-unknown-keys")
def test_unknown_annotation_keys_are_ignored(new_container, new_bundle):
    annotations = {"com.example.ocitest.unknown": "1", "org.ocitest.nested.key": "value with spaces"}
    _, out = run_with(new_container, new_bundle, probe.sh(probe.say("ran", "yes")),
                      lambda c: c.update(annotations=annotations))
    assert probe.facts(out).get("ran") == ["yes"], f"the program did not run with unknown annotations: {out!r}"


@requirement("config.extensibility-unknown-properties")
def test_unknown_properties_are_ignored(new_container, new_bundle):
    def add_unknown(config):
        config["org.ocitest.extension"] = {"nested": [1, 2, {"deep": True}]}
        config["process"]["ocitestUnknown"] = "ignore me"
        config["linux"]["ocitestUnknown"] = 42
        config["root"]["ocitestUnknown"] = False

    status, out = run_with(new_container, new_bundle, probe.sh(probe.say("ran", "yes")), add_unknown)
    assert probe.facts(out).get("ran") == ["yes"], f"the program did not run with unknown properties: {out!r}"


def relative_cwd(config):
    config["process"]["cwd"] = "etc"
    return "a relative process.cwd"


def unknown_filesystem(config):
    config["mounts"].append({"destination": "/mnt", "type": "ocitestnosuchfs", "source": "none"})
    return "a mount of a filesystem type the kernel does not have"


@requirement("config.invalid-values-error")
@pytest.mark.parametrize("breakage", [relative_cwd, unknown_filesystem], ids=lambda f: f.__name__)
def test_an_invalid_value_is_an_error(new_container, new_bundle, breakage):
    bundle = new_bundle()
    what = breakage(bundle.config)
    container = new_container(probe.sh(probe.touch_in_exchange("ran")), bundle=bundle)
    call = container.attempt()
    assert call.failed, f"{what} was accepted: {call.describe()}"
    assert not container.exchange_file("ran").exists(), f"the program ran with {what}"
