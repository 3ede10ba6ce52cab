"""ntpconfig: the time servers the gateway compares its clock with (the drift shows in status).

Setting the machine's clock is the operating system's job (chrony, systemd-timesyncd): the gateway does not
change it, and says so.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.system import ntp_server_problem
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("ntpconfig", """
print
new SERVER                        (HOST or HOST:PORT)
delete SERVER
check                             (ask the servers now: the offset of this machine's clock)
""", notes="Changes are pending until commit.")

NOTE = ("The gateway compares its clock with these servers (every 5 minutes; status shows the offset) and "
        "does not set it: setting the machine's clock is the operating system's job (chrony, "
        "systemd-timesyncd).")


@command("ntpconfig", "Configure NTP time server.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("ntpconfig")
    words = list(args.positional)
    if not words:
        if ctx.batch:
            raise UsageError()
        return _wizard(ctx)
    op = words[0].lower()
    if op == "print" and len(words) == 1:
        return _print(ctx)
    if op == "check" and len(words) == 1:
        return _check(ctx)
    if op in ("new", "delete") and len(words) == 2:
        return _new(ctx, words[1]) if op == "new" else _delete(ctx, words[1])
    raise UsageError()


def _servers(ctx) -> tuple[str, ...]:
    return ctx.config.ntp.servers


def _print(ctx) -> None:
    servers = _servers(ctx)
    ctx.say("Currently configured NTP servers:" if servers else "No NTP server is configured.")
    for i, s in enumerate(servers, 1):
        ctx.say(f"{i}. {s}")
    ctx.say(NOTE)


def _new(ctx, server: str) -> None:
    problem = ntp_server_problem(server)
    if problem:
        raise CommandError(f"ntpconfig: {problem}")
    if server.lower() in (s.lower() for s in _servers(ctx)):
        raise CommandError(f"ntpconfig: {server} is already configured.")
    ctx.replace_section("ntp", servers=_servers(ctx) + (server,))
    ctx.say(f"{server} added (pending: commit to apply).")


def _delete(ctx, server: str) -> None:
    kept = tuple(s for s in _servers(ctx) if s.lower() != server.lower())
    if len(kept) == len(_servers(ctx)):
        raise CommandError(f"ntpconfig: {server} is not configured ('ntpconfig print').")
    ctx.replace_section("ntp", servers=kept)
    ctx.say(f"{server} deleted (pending: commit to apply).")


def _check(ctx) -> None:
    readings = ctx.control("ntp_check", timeout=30)
    if not readings:
        raise CommandError("No NTP server is configured in the running gateway (ntpconfig new, then commit).")
    failed = False
    for r in readings:
        if r["offset"] is None:
            failed = True
            ctx.say(f"{r['server']}: {r['problem']}")
        else:
            ctx.say(f"{r['server']}: offset {r['offset']:+.6f} s (stratum {r['stratum']})")
    if failed and not any(r["offset"] is not None for r in readings):
        raise CommandError("No time server answered.")


def _wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        servers = _servers(ctx)
        status = "\n".join(["Currently configured NTP servers:" if servers else "No NTP server is configured."]
                           + [f"{i}. {s}" for i, s in enumerate(servers, 1)])
        op = p.menu([("ADD", "Add a server."), ("DELETE", "Remove a server."),
                     ("CHECK", "Compare the clock with the servers now.")], status=status)
        if op is None:
            return
        try:
            if op == "ADD":
                _new(ctx, p.ask("Please enter the fully qualified hostname or IP address of your NTP server.",
                                validate=lambda v: ntp_server_problem(v)))
            elif op == "DELETE":
                if not servers:
                    p.error("There is no server to delete.")
                    continue
                _delete(ctx, servers[p.choose("Choose the server to delete:", list(servers), 0)])
            else:
                _check(ctx)
        except CommandError as e:
            p.error(str(e))
