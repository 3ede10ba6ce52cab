"""sdrconfig: Sender Domain Reputation in the SMTP conversation (at MAIL FROM)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import SDR_BLOCKABLE
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("sdrconfig", f"""
print
domainreputation enable|disable [--verdict={'|'.join(SDR_BLOCKABLE)}]
advanced [--timeout=SECONDS] [--cache=SECONDS]
""")


@command("sdrconfig", "Configure Sender Domain Reputation filtering.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub == "domainreputation" and len(rest) == 1 and rest[0].lower() in ("enable", "disable"):
        changes = {"sdr_enabled": rest[0].lower() == "enable"}
        verdict = args.take_option("verdict")
        args.expect_done("sdrconfig domainreputation")
        if verdict is not None:
            changes["sdr_verdict"] = str(verdict).lower()
        ctx.replace_section("reputation", **changes)
        return show(ctx)
    if sub == "advanced" and not rest:
        changes = args.take_typed((("timeout", "sdr_timeout_seconds", float), ("cache", "cache_seconds", int)))
        args.expect_done("sdrconfig advanced")
        if not changes:
            raise UsageError()
        ctx.replace_section("reputation", **changes)
        return show(ctx)
    raise UsageError()


def show(ctx) -> None:
    r = ctx.config.reputation
    ctx.say(f"Domain Reputation Filtering: {'Enabled' if r.sdr_enabled else 'Disabled'}")
    ctx.say(f"Sender domains refused at MAIL FROM: verdict {r.sdr_verdict.capitalize()} or worse "
            "(on mail flow policies with the SDR check on)")
    ctx.say(f"Timeout for a verdict: {r.sdr_timeout_seconds:g} seconds (then Unknown: never refused)")
    ctx.say(f"Verdicts cached for {r.cache_seconds} seconds")
    ctx.say(f"Domain exception list: {len(r.domain_exceptions)} domains")
    ctx.say("Providers: " + ", ".join(f"{p.name} ({p.type})" for p in r.providers if p.kind == "domain"))


def wizard(ctx) -> None:
    p = ctx.prompter
    r = ctx.config.reputation
    enabled = p.yes_no("Would you like to use Domain Reputation Filtering?", r.sdr_enabled)
    changes = {"sdr_enabled": enabled}
    if enabled:
        i = p.choose("Choose the verdict at or below which senders are refused:",
                     [v.capitalize() for v in SDR_BLOCKABLE], SDR_BLOCKABLE.index(r.sdr_verdict))
        changes["sdr_verdict"] = SDR_BLOCKABLE[i]
    ctx.replace_section("reputation", **changes)
    show(ctx)
