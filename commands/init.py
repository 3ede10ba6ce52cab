"""init: prepare a new data directory (default configuration, admin's passphrase)."""

from __future__ import annotations

import os
import time

from asyncos_cli.auth import roles as R
from asyncos_cli.auth.policy import violations
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("init", "Prepare a new data directory: default configuration and admin passphrase.",
         roles=R.ADMIN_ONLY, needs_store=False)
def run(ctx, args):

    from asyncos_cli.auth.accounts import Accounts, PolicyViolation
    from asyncos_cli.config.schema import Config, SystemSection
    from asyncos_cli.config.secrets import Keyring
    from asyncos_cli.config.state import StateStore, new_serial
    from asyncos_cli.config.store import SQLiteStore

    datadir = ctx.datadir
    if datadir.is_initialised():
        store = SQLiteStore(datadir.database)
        try:
            if store.head_id():
                raise CommandError(f"The data directory {datadir.root} is already initialised.")
        finally:
            store.close()

    hostname = args.take_option("hostname")
    passphrase = args.secret("admin-passphrase", ctx)
    args.expect_done("init")
    config = Config.default()
    policy = config.passphrase_policy
    if hostname is not None:
        try:
            config = config.with_section(SystemSection(hostname=str(hostname)))
        except ConfigError as e:
            raise CommandError(str(e)) from None

    if passphrase is None:
        if ctx.batch:
            raise CommandError(
                "init needs admin's passphrase: --admin-passphrase-file=FILE (or - for standard input); "
                "on a terminal it is asked for"
            )
        ctx.say("Choose the passphrase of the admin account.")
        passphrase = ctx.prompter.secret(
            "Enter the new passphrase:",
            confirm="Please enter the new passphrase again:",
            validate=lambda p: " ".join(violations(p, policy, "admin")) or None,
        )
    else:
        problems = violations(passphrase, policy, "admin")
        if problems:
            raise CommandError(" ".join(problems))

    # Order matters for a set-up killed half-way: the key first (init reuses it
    # when the store is still empty), the configuration last, since a first
    # version is what marks the directory as initialised.
    datadir.prepare()
    if not datadir.key_file.exists():
        Keyring.create(datadir.key_file)
    state = StateStore(datadir.database)
    try:
        if state.get("serial") is None:
            state.put("serial", new_serial())
            state.put("install_date", time.time())
    finally:
        state.close()
    accounts = Accounts(datadir.database)
    try:
        accounts.set_passphrase("admin", passphrase, policy)
    except PolicyViolation as e:
        raise CommandError(str(e)) from None
    finally:
        accounts.close()
    store = SQLiteStore(datadir.database)
    try:
        version = store.initialise(config, "admin", "Initial configuration")
    finally:
        store.close()
    os.chmod(datadir.root, 0o700)
    ctx.say(f"Initialised {datadir.root}: configuration version {version.id}, host name "
            f"{config.system.hostname}, user admin.")
