"""featurekey: the licensed features, as Smart Licensing reports them (classic feature keys: not supported)."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("featurekey", """
print
activate KEY                     (classic feature keys: not supported yet)
""", notes="The features come from Smart Licensing (license_smart): its entitlements once registered, a 90-day "
           "evaluation from the first enable before that.")

CLASSIC = ("Classic feature keys are not supported yet: licensed features come from Smart Licensing "
           "(license_smart enable, then license_smart register).")


@command("featurekey", "Administer system feature keys.", roles=R.ADMIN_ONLY, grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("featurekey")
    words = [w.lower() for w in args.positional]
    if words[:1] == ["activate"]:
        raise CommandError(CLASSIC)
    if words not in ([], ["print"]):
        raise UsageError()
    print_features(ctx)


def print_features(ctx) -> None:
    from asyncos_cli.services.licensing import features

    now = time.time()
    found = features(ctx.state, ctx.config.licensing.smart_licensing, now)
    if not ctx.config.licensing.smart_licensing:
        ctx.say("Smart Licensing is disabled: no feature is licensed. " + CLASSIC)
        return
    if not found:
        ctx.say("The licensing server reported no entitlement for this appliance.")
        return
    width = max(len("Feature"), *(len(f.name) for f in found))
    ctx.say(f"{'Feature':<{width}}  {'Status':<21}  {'Remaining':>10}  Expiration Date")
    for f in found:
        if f.expires is None:
            remaining, when = "Perpetual", "Never"
        else:
            days = f.seconds_left(now) // 86400
            remaining, when = f"{days} days", time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(f.expires))
        ctx.say(f"{f.name:<{width}}  {f.status:<21}  {remaining:>10}  {when}")
