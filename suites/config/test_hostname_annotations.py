"""config.md, Hostname, Domainname, Annotations, Extensibility and Valid values.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configHostname
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configAnnotations
https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configExtensibility
"""

import pytest

from ocitest import probe, requirement


def run_with(new_container, new_bundle, args, edit) -> tuple[object, str]:
    bundle = new_bundle()
    edit(bundle.config)
    return new_container(args, bundle=bundle).run_to_exit()


@requirement("config.hostname")
def test_the_program_sees_the_configured_hostname(new_container, new_bundle):
    _, out = run_with(new_container, new_bundle, probe.sh(probe.say("hostname", "$(uname -n)")),
                      lambda c: c.update(hostname="ocitest-h0stname"))
    assert probe.facts(out).get("hostname") == ["ocitest-h0stname"], f"hostname: the program saw {out!r}"


@requirement("config.domainname")
def test_the_program_sees_the_configured_domainname(new_container, new_bundle):
    _, out = run_with(new_container, new_bundle, probe.sh(probe.say("domain", "$(cat /proc/sys/kernel/domainname)")),
                      lambda c: c.update(domainname="ocitest.example"))
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


@requirement("config.stop-signal-annotation")
def test_kill_without_a_signal_sends_the_stop_signal_annotation(new_container, new_bundle, runtime):
    bundle = new_bundle()
    bundle.config["annotations"] = {"org.opencontainers.image.stopSignal": "SIGUSR1"}
    container = new_container(probe.waiting(*probe.report_signals("USR1", "TERM")), bundle=bundle).launch()
    call = runtime.call("kill", container.id)
    assert call.ok, f"kill without a signal failed: {call.describe()}"
    output = container.read_until("ocitest:signal ")
    container.finish()
    received = probe.facts(output).get("signal")
    assert received == ["USR1"], f"the stop signal annotation is SIGUSR1; kill without a signal delivered {received}"
