"""resetconfig: the factory configuration again (the embedded default), committed at once.

Kept, as an appliance keeps them: the network interfaces (so the administrator reaching the gateway over SSH
is not locked out), the admin account and its passphrase, and run-time state (the queue, quarantines, message
tracking, logs, the configuration history, which can roll back to the version before). Removed: every other
account and its passphrase.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import Config
from asyncos_cli.events.system import ConfigCommitted
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

KEPT = ("interfaces",)


@command("resetconfig", "Restore the factory configuration defaults.", roles=R.ADMIN_ONLY)
def run(ctx, args):
    confirmed = args.take_option("confirm")
    args.expect_done("resetconfig")
    if args.positional:
        raise CommandError("Usage: resetconfig [--confirm]")
    if ctx.batch and confirmed is None:
        raise CommandError("resetconfig replaces the whole configuration: confirm it with --confirm.")
    if not ctx.batch and not ctx.prompter.yes_no("Are you sure you want to reset all configuration values?",
                                                 False):
        ctx.say("The configuration was not changed.")
        return
    session = ctx.session
    session.clear()  # pending changes belong to the configuration being replaced
    current = session.config
    factory = Config.default()
    removed = [u.name for u in current.users.accounts if factory.users.get(u.name) is None]
    target = Config({s.name: (current[s.name] if s.name in KEPT else s) for s in factory.sections()})
    if not session.stage_config(target):
        ctx.say("The configuration is already the factory configuration.")
        return
    info = session.commit("resetconfig: factory defaults", True)
    for user in removed:
        ctx.accounts.forget(user)
    ctx.emit(ConfigCommitted(ctx.pid, ctx.user, "resetconfig: factory defaults", info.id))
    from asyncos_cli.control.client import nudge

    nudge(ctx.datadir.control_socket)
    ctx.say("All settings have been restored to the factory default.")
    if removed:
        ctx.say(f"Accounts removed: {', '.join(removed)}.")
    ctx.say(f"The previous configuration is version {info.id - 1}: 'rollbackconfig' can restore it.")
