"""adminaccessconfig: the inactivity timeout that ends idle shell, SSH, API and web sessions."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import AdminAccessSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

TIMEOUT_FIELDS = field_options(AdminAccessSection, "timeout_minutes")
GRAMMAR = Grammar("adminaccessconfig", """
print
timeout [--timeout=MINUTES]
""", fields=TIMEOUT_FIELDS,
    notes="One timeout for every way in: the shell, SSH, the AsyncOS API (a token's lifetime) and the web "
          "interface. BANNER, WELCOME, IPACCESS, CSRF and HOSTHEADER are not supported yet.")

NOT_YET = ("banner", "welcome", "ipaccess", "csrf", "hostheader")


@command("adminaccessconfig", "Configure network access to the system.", roles=R.ADMIN_ONLY, grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    if sub in NOT_YET:
        raise CommandError(f"adminaccessconfig {sub.upper()} is not supported yet.")
    changes = args.take_fields(TIMEOUT_FIELDS)
    args.expect_done(f"adminaccessconfig {sub}")
    if sub == "print" and not changes:
        return show(ctx)
    if sub == "timeout" and changes:
        ctx.replace_section("admin_access", **changes)
        return show(ctx)
    raise UsageError()


def show(ctx) -> None:
    ctx.say(f"Inactivity timeout (CLI, SSH, API and web interface): {ctx.config.admin_access.timeout_minutes} "
            "minutes")


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        show(ctx)
        op = p.menu([("TIMEOUT", "Configure the inactivity timeout."),
                     *((k.upper(), "Not supported yet.") for k in NOT_YET)])
        if op is None:
            return
        if op != "TIMEOUT":
            p.error(f"{op} is not supported yet.")
            continue
        minutes = p.ask_setting("Enter the inactivity timeout (in minutes) for the CLI, the API and the web "
                                "interface:", AdminAccessSection, "timeout_minutes",
                                ctx.config.admin_access.timeout_minutes)
        ctx.replace_section("admin_access", timeout_minutes=minutes)
