"""The commit model: versions, conflicts between sessions, nothing lost."""

from __future__ import annotations

import pytest

from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import OutboundSection, SystemSection
from asyncos_cli.config.session import Session
from asyncos_cli.config.store import CommitConflict, NothingToCommit


def test_commit_creates_a_version_with_user_time_and_comment(store):
    s = Session(store, "admin")
    s.stage(SystemSection(hostname="mx1.example.com"))
    info = s.commit("rename")
    assert info.id == 2
    versions = store.versions()
    assert [v.comment for v in versions] == ["Initial configuration", "rename"]
    assert versions[-1].user == "admin" and versions[-1].created > 0
    assert store.snapshot().config.system.hostname == "mx1.example.com"
    assert store.snapshot(1).config.system.hostname == "ironport.example.com"


def test_second_session_committing_the_same_section_is_refused_and_keeps_its_changes(store, tmp_path):
    other = store.reopen()  # a second process would open its own connection
    a, b = Session(store, "alice"), Session(other, "bob")
    a.stage(SystemSection(hostname="a.example.com"))
    b.stage(SystemSection(hostname="b.example.com"))
    a.commit("alice's name")
    with pytest.raises(CommitConflict) as exc:
        b.commit("bob's name")
    assert "system" in str(exc.value) and "alice" in str(exc.value) and "version 2" in str(exc.value)
    # Nothing lost: alice's commit is in effect, bob's change is still pending.
    assert store.snapshot().config.system.hostname == "a.example.com"
    assert b.has_pending and b.config.system.hostname == "b.example.com"
    assert store.head_id() == 2
    # After clearing and redoing on the new version, bob's commit goes through.
    b.clear()
    b.stage(SystemSection(hostname="b.example.com"))
    b.commit("again")
    assert store.snapshot().config.system.hostname == "b.example.com"
    other.close()


def test_sessions_changing_different_sections_both_commit(store):
    other = store.reopen()
    a, b = Session(store, "alice"), Session(other, "bob")
    a.stage(SystemSection(hostname="a.example.com"))
    b.stage(OutboundSection(timeout_seconds=25))
    a.commit("hostname")
    b.commit("timeout")
    cfg = store.snapshot().config
    assert cfg.system.hostname == "a.example.com" and cfg.outbound.timeout_seconds == 25
    other.close()


def test_nothing_to_commit(store):
    s = Session(store, "admin")
    with pytest.raises(NothingToCommit):
        s.commit("")
    s.stage(SystemSection(hostname="x.example.com"))
    s.stage(SystemSection(hostname="ironport.example.com"))  # edited back
    assert not s.has_pending


def test_invalid_values_never_become_sections():
    with pytest.raises(ConfigError) as exc:
        SystemSection(hostname="no_underscores.example.com")
    assert "hostname" in str(exc.value)
    with pytest.raises(ConfigError):
        OutboundSection(timeout_seconds=0)
    with pytest.raises(ConfigError):
        SystemSection(hostname=5)  # type: ignore[arg-type]


def test_checkpoint_restore_drops_a_half_made_change(store):
    s = Session(store, "admin")
    cp = s.checkpoint()
    s.stage(SystemSection(hostname="half.example.com"))
    s.restore(cp)
    assert not s.has_pending


def test_unknown_version(store):
    with pytest.raises(ConfigError):
        store.snapshot(99)


def test_concurrent_commits_from_many_connections_serialize_without_gaps_or_losses(store):
    """Eight connections (as eight processes or machines would hold) commit at once: each commit either lands as
    the next version or is refused as a conflict; nothing is lost, numbers have no gaps."""
    import threading

    from asyncos_cli.config.schema import NtpSection

    stores = [store.reopen() for _ in range(8)]
    outcomes: list[str] = []

    def commit(i: int) -> None:
        s = Session(stores[i], f"user{i}")
        s.stage(NtpSection(servers=(f"ntp{i}.example.com",)))
        try:
            s.commit(f"ntp {i}")
            outcomes.append("ok")
        except CommitConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [v.id for v in store.versions()]
    assert ids == list(range(1, len(ids) + 1))  # consecutive
    assert outcomes.count("ok") == len(ids) - 1 >= 1  # every success is a version
    last = store.snapshot().config.ntp.servers
    assert last == (f"ntp{int(store.versions()[-1].comment.split()[1])}.example.com",)
    for s in stores:
        s.close()
