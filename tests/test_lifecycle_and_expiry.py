"""End-of-life banners; passphrase expiry, reminders, grace and forced changes."""

from __future__ import annotations

import datetime
import sqlite3
import time

from conftest import PASSPHRASE, run_cli

from asyncos_cli import lifecycle
from asyncos_cli.auth.accounts import Accounts
from asyncos_cli.config.cluster import open_store
from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.schema import (
    MODELS,
    Config,
    PassphrasePolicySection,
    SystemSection,
)
from asyncos_cli.config.session import Session
from asyncos_cli.config.store import SQLiteStore


def test_lifecycle_table_covers_every_model():
    assert set(lifecycle.MODELS) == set(MODELS)
    assert lifecycle.release_of("14.0.0.1") in lifecycle.RELEASES


def test_alerts_by_date():
    eol = lifecycle.MODELS["OEG-100"].end_of_life
    eos = lifecycle.MODELS["OEG-100"].end_of_service
    day = datetime.timedelta(days=1)
    assert lifecycle.alerts("OEG-100", "14.0.0.1", datetime.date(2026, 1, 1)) == []
    past_eol = lifecycle.alerts("OEG-100", "99.0.0", eol + day)
    assert len(past_eol) == 1 and "end of life" in past_eol[0] and str(eol) in past_eol[0]
    past_eos = lifecycle.alerts("OEG-100", "99.0.0", eos + day)
    assert "end of service" in past_eos[0]
    old_release = lifecycle.alerts("OEG-100", "13.5.1", datetime.date(2027, 1, 1))
    assert "AsyncOS release 13.5 reached end of service" in old_release[0]


def test_version_shows_the_banner_for_a_retired_model(datadir):
    store = open_store(DataDir(datadir))
    s = Session(store, "admin")
    s.stage(SystemSection(hostname="ironport.example.com", model="OEG-50"))
    s.commit("old box")
    store.close()
    out = run_cli(datadir, "-c", "version").stdout
    assert "ALERT: model OEG-50 reached end of service on 2025-06-30" in out
    assert "Model: OEG-50" in out and "Model End of Service: 2025-06-30" in out
    out = run_cli(datadir, "-c", "sethostname a.example.com; commit").stdout
    assert "ALERT" not in out  # only at login and in version


def _age_passphrase(db, user, days):
    conn = sqlite3.connect(db)
    conn.execute("UPDATE state_passphrases SET updated = ? WHERE user = ?", (time.time() - days * 86400, user))
    conn.commit()
    conn.close()


def test_expiry_reminder_grace_and_lock(tmp_path):
    db = tmp_path / "a.db"
    SQLiteStore(db).close()
    acc = Accounts(db)
    base = Config.default()
    acc.set_passphrase("admin", PASSPHRASE, base.passphrase_policy)
    policy = PassphrasePolicySection(expiry_enabled=True, expiry_days=30, reminder_days=5)
    cfg = base.with_section(policy)
    assert acc.authenticate("admin", PASSPHRASE, cfg).expires_in_days is None
    _age_passphrase(db, "admin", 27)
    assert acc.authenticate("admin", PASSPHRASE, cfg).expires_in_days == 3  # 2.99 days left
    _age_passphrase(db, "admin", 31)
    assert acc.authenticate("admin", PASSPHRASE, cfg).reason == "expired"
    graced = cfg.with_section(policy.replace(grace_enabled=True, grace_days=3))
    r = acc.authenticate("admin", PASSPHRASE, graced)
    assert r.ok and r.must_change
    _age_passphrase(db, "admin", 40)
    assert acc.authenticate("admin", PASSPHRASE, graced).reason == "expired"
    # lockout
    lock = cfg.with_section(PassphrasePolicySection(lockout_enabled=True, lockout_attempts=3))
    results = [acc.authenticate("admin", f"Wrong-{i}-pass!", lock) for i in range(3)]
    assert [r.locked_now for r in results] == [False, False, True]
    assert acc.authenticate("admin", PASSPHRASE, lock).reason == "locked"
    acc.set_locked("admin", False)
    assert acc.authenticate("admin", PASSPHRASE, lock).ok
    assert acc.authenticate("nobody", PASSPHRASE, lock).reason == "unknown"


def test_reuse_of_recent_passphrases_is_refused(tmp_path):
    db = tmp_path / "a.db"
    SQLiteStore(db).close()
    acc = Accounts(db)
    policy = PassphrasePolicySection(history_count=2)
    acc.set_passphrase("bob", "Prime-pass-9x", policy)
    acc.set_passphrase("bob", "Second-pass-9x", policy)
    assert any("most recent" in p for p in acc.check("bob", "Prime-pass-9x", policy))
    acc.set_passphrase("bob", "Thrice-pass-9x", policy)
    assert acc.check("bob", "Prime-pass-9x", policy) == []  # now three back
    assert acc.verify("bob", "Thrice-pass-9x") and not acc.verify("bob", "Prime-pass-9x")
