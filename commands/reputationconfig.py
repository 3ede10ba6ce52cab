"""reputationconfig: the reputation providers (local table, DNS lists, HTTP APIs) and the local table."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import ReputationProvider
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
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


PROVIDERS = ListEditor("provider", "reputationconfig", lambda ctx: ctx.config.reputation.providers, lambda p: p.name,
                       ignore_case=False)
PROVIDER_FIELDS = field_options(ReputationProvider, "kind", "type", "zone", "resolver", "url", "timeout_seconds")


def _provider(ctx, args, op: str, rest: list[str]) -> None:
    if op == "new" and len(rest) == 1:
        return _new_provider(ctx, args, rest[0])
    if op == "delete" and len(rest) == 1:
        args.expect_done("reputationconfig provider delete")
        return _delete_provider(ctx, PROVIDERS.find(ctx, rest[0]))
    if op == "move" and len(rest) == 2 and rest[1].isdigit():
        args.expect_done("reputationconfig provider move")
        return _move_provider(ctx, PROVIDERS.find(ctx, rest[0]), int(rest[1]))
    raise UsageError()


def _new_provider(ctx, args, name: str) -> None:
    fields = args.take_fields(PROVIDER_FIELDS)
    answers = args.take_option("answers")
    token = args.secret("token", ctx)
    args.expect_done("reputationconfig provider new")
    PROVIDERS.refuse_duplicate(ctx, name)
    if answers not in (None, True):
        fields["answers"] = tuple(a.strip() for a in str(answers).split(",") if a.strip())
    if token:
        fields["token"] = ctx.keyring.seal(token)
    if fields.get("type") == "local":
        raise CommandError("the local table is a provider already; add entries with 'reputationconfig local set'")
    try:
        provider = ReputationProvider(name, **{"kind": "", "type": "", **fields})
    except (ConfigError, TypeError) as e:
        raise CommandError(str(e)) from None
    ctx.replace_section("reputation", providers=(*ctx.config.reputation.providers, provider))
    ctx.say(f"The provider {name} was added (asked after the ones before it: 'provider move' reorders).")


def _delete_provider(ctx, found) -> None:
    if found.type == "local":
        raise CommandError("the local table cannot be deleted (an empty table answers nothing)")
    ctx.replace_section("reputation", providers=tuple(p for p in ctx.config.reputation.providers if p is not found))
    ctx.say(f"The provider {found.name} was deleted.")


def _move_provider(ctx, found, position: int) -> None:
    providers = [p for p in ctx.config.reputation.providers if p is not found]
    providers.insert(max(0, min(len(providers), position - 1)), found)
    ctx.replace_section("reputation", providers=tuple(providers))
    ctx.say(f"The provider {found.name} is now number {providers.index(found) + 1}.")


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
