"""config.md, POSIX-platform User: who the program runs as.

https://github.com/opencontainers/runtime-spec/blob/v1.3.0/config.md#configPOSIXUser
"""

import pytest

from ocitest import needs, probe, requirement


def launched_as(new_container, new_bundle, **user):
    bundle = new_bundle()
    bundle.config["process"]["user"] = user
    container = new_container(probe.waiting(), bundle=bundle).launch()
    status = container.view.status()
    container.finish()
    return status


# No 0:0 case: a runtime that ignored `user` would run the program as the caller, root, and pass it.
@requirement("config.user-ids")
@pytest.mark.parametrize("uid, gid", [
    pytest.param(uid, gid, marks=needs("privileged", f"run the program as {uid}:{gid} (only the caller's uid and gid "
                                                     "are mapped, as 0:0)"))
    for uid, gid in [(1000, 1001), (65534, 65534)]
])
def test_the_program_runs_with_the_configured_uid_and_gid(new_container, new_bundle, uid, gid):
    status = launched_as(new_container, new_bundle, uid=uid, gid=gid)
    assert status["Uid"].split() == [str(uid)] * 4, (
        f"user.uid is {uid}; real/effective/saved/fs uids are {status['Uid']}"
    )
    assert status["Gid"].split() == [str(gid)] * 4, (
        f"user.gid is {gid}; real/effective/saved/fs gids are {status['Gid']}"
    )


@requirement("config.user-additional-gids")
@pytest.mark.parametrize("extra", [[5, 6, 1234], []])
@needs("privileged", "run the program as 1000:1000 with additionalGids "
                    "(only the caller's uid and gid are mapped, as 0:0)")
def test_supplementary_groups_are_the_additional_gids(new_container, new_bundle, extra):
    status = launched_as(new_container, new_bundle, uid=1000, gid=1000, additionalGids=extra)
    groups = {int(g) for g in status["Groups"].split()}
    missing = set(extra) - groups
    unexpected = groups - set(extra) - {1000}
    assert not missing, f"additionalGids {extra}: the program's groups {sorted(groups)} lack {sorted(missing)}"
    assert not unexpected, f"additionalGids {extra}: the program also has groups {sorted(unexpected)}"


@requirement("config.user-umask")
@pytest.mark.parametrize("umask", [0o077, 0o002, 0o000])
def test_the_program_starts_with_the_configured_umask(new_container, new_bundle, umask):
    # The program prints its own umask (the shell's `umask`, before it changes anything): a sandbox's
    # /proc/PID/status (gVisor's) has no Umask line, and this sees the same fact for every runtime.
    bundle = new_bundle()
    bundle.config["process"]["user"] = {"uid": 0, "gid": 0, "umask": umask}
    status, out = new_container(probe.sh(probe.say("umask", "$(umask)")), bundle=bundle).run_to_exit()
    seen = probe.facts(out).get("umask")
    assert seen and len(seen) == 1 and int(seen[0], 8) == umask, (
        f"user.umask is {umask:04o}, the program has {seen[0] if seen else f'no umask it could print ({out!r})'}"
    )
