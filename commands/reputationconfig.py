"""reputationconfig: the reputation providers (local table, DNS lists, HTTP APIs) and the local table."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import ReputationProvider
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("reputationconfig", """
print
provider new NAME --kind=domain|ip --type=dns --zone=ZONE [--resolver=IP:PORT]
      [--answers=127.0.1.4=awful,...] [--timeout=SECONDS]
provider new NAME --kind=domain|ip --type=http --url=URL [--token-file=FILE] [--timeout=SECONDS]
provider delete NAME
provider move NAME POSITION
local set DOMAIN VERDICT | IP|CIDR SCORE        (VERDICT: awful ... good; SCORE: -10 to 10)
local delete DOMAIN|IP|CIDR
""")

@command("reputationconfig", "Configure reputation providers and the local reputation table.",
         roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub == "provider" and rest:
        return _provider(ctx, args, rest[0].lower(), rest[1:])
    if sub == "local" and rest:
        return _local(ctx, args, rest[0].lower(), rest[1:])
    raise UsageError()


def _provider(ctx, args, op: str, rest: list[str]) -> None:
    providers = list(ctx.config.reputation.providers)
    if op == "new" and len(rest) == 1:
        fields = args.take_typed((("kind", "kind", str), ("type", "type", str), ("zone", "zone", str),
                                  ("resolver", "resolver", str), ("url", "url", str),
                                  ("timeout", "timeout_seconds", float)))
        answers = args.take_option("answers")
        token = args.secret("token", ctx)
        args.expect_done("reputationconfig provider new")
        if any(p.name == rest[0] for p in providers):
            raise CommandError(f"A provider named {rest[0]} already exists.")
        if answers not in (None, True):
            fields["answers"] = tuple(a.strip() for a in str(answers).split(",") if a.strip())
        if token:
            fields["token"] = ctx.keyring.seal(token)
        if fields.get("type") == "local":
            raise CommandError("the local table is a provider already; add entries with 'reputationconfig local set'")
        try:
            providers.append(ReputationProvider(rest[0], **{"kind": "", "type": "", **fields}))
        except (ConfigError, TypeError) as e:
            raise CommandError(str(e)) from None
        ctx.replace_section("reputation", providers=tuple(providers))
        ctx.say(f"The provider {rest[0]} was added (asked after the ones before it: 'provider move' reorders).")
        return
    if op == "delete" and len(rest) == 1:
        args.expect_done("reputationconfig provider delete")
        found = next((p for p in providers if p.name == rest[0]), None)
        if found is None:
            raise CommandError(f"There is no provider named {rest[0]}.")
        if found.type == "local":
            raise CommandError("the local table cannot be deleted (an empty table answers nothing)")
        providers.remove(found)
        ctx.replace_section("reputation", providers=tuple(providers))
        ctx.say(f"The provider {found.name} was deleted.")
        return
    if op == "move" and len(rest) == 2 and rest[1].isdigit():
        args.expect_done("reputationconfig provider move")
        found = next((p for p in providers if p.name == rest[0]), None)
        if found is None:
            raise CommandError(f"There is no provider named {rest[0]}.")
        providers.remove(found)
        providers.insert(max(0, min(len(providers), int(rest[1]) - 1)), found)
        ctx.replace_section("reputation", providers=tuple(providers))
        ctx.say(f"The provider {found.name} is now number {providers.index(found) + 1}.")
        return
    raise UsageError()


def _local(ctx, args, op: str, rest: list[str]) -> None:
    import ipaddress

    args.expect_done(f"reputationconfig local {op}")
    rep = ctx.config.reputation
    if not rest:
        raise UsageError()
    key = rest[0]
    try:
        ipaddress.ip_network(key, strict=False)
        field_name = "local_ips"
    except ValueError:
        field_name = "local_domains"
    entries = [e for e in getattr(rep, field_name) if e.partition("=")[0].lower() != key.lower()]
    if op == "set" and len(rest) == 2:
        entries.append(f"{key}={rest[1].lower()}")
        ctx.replace_section("reputation", **{field_name: tuple(entries)})
        ctx.say(f"{key}: {rest[1].lower()} in the local table.")
        return
    if op == "delete" and len(rest) == 1:
        if len(entries) == len(getattr(rep, field_name)):
            raise CommandError(f"{key} is not in the local table.")
        ctx.replace_section("reputation", **{field_name: tuple(entries)})
        ctx.say(f"{key} was removed from the local table.")
        return
    raise UsageError()


def show(ctx) -> None:
    rep = ctx.config.reputation
    ctx.say("Reputation providers, asked in this order:")
    for i, p in enumerate(rep.providers, 1):
        where = {"local": "the local table", "dns": f"zone {p.zone}" + (f" via {p.resolver}" if p.resolver else ""),
                 "http": p.url}[p.type]
        ctx.say(f"  {i}. {p.name}: {'sender domains (SDR)' if p.kind == 'domain' else 'IP addresses (SBRS)'}, "
                f"{where}, timeout {p.timeout_seconds:g} s")
    ctx.say(f"Local table: {len(rep.local_domains)} domains, {len(rep.local_ips)} addresses")
    for e in (*rep.local_domains, *rep.local_ips):
        ctx.say(f"  {e.replace('=', ': ')}")
