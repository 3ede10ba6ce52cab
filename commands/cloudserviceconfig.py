"""cloudserviceconfig: the Cisco Cloud Services portal (enable with a region, register, FQDN label) and
FETCHCERTIFICATE, which downloads a new Talos certificate and key when the old one expired."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.config.cloud import REGIONS, CloudSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.cloud import changed, client, failing, identity

GRAMMAR = Grammar("cloudserviceconfig", """
status | print
enable [--region=AMERICAS|EUROPE] [--server=https://...]
disable
register TOKEN | --token-file=FILE
deregister
setfqdn LABEL
fetchcertificate [--overwrite]
setup [--talos-url=https://...] [--timeout=SECONDS]
      [--interaction-tracking=yes|no] [--aggregator-url=https://...] [--poll=SECONDS]
settrs | enablesecurex | disablesecurex | enablecsn | disablecsn      (not supported yet)
""")

OPERATIONS = (("ENABLE", "Enable the Cisco Cloud Service."), ("DISABLE", "Disable the Cisco Cloud Service."),
              ("REGISTER", "Register the appliance with the Cisco Cloud Service."),
              ("DEREGISTER", "Deregister the appliance from the Cisco Cloud Service."),
              ("SETFQDN", "Set the label of the Cisco Cloud Service region."),
              ("FETCHCERTIFICATE", "Download a new Cisco Talos certificate and key."))


#: The appliance's other operations: they need the SecureX ribbon, Cisco Success Network or a TRS choice.
NOT_YET = ("SETTRS", "ENABLESECUREX", "DISABLESECUREX", "ENABLECSN", "DISABLECSN")


@command("cloudserviceconfig", "Configure the Cisco Cloud Services settings.", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub is not None and sub.upper() in NOT_YET:
        raise CommandError(f"cloudserviceconfig {sub.upper()} is not supported yet.")
    handler, arity = _BATCH.get(sub, (None, 0))
    if handler is None or len(rest) not in arity:
        raise UsageError()
    handler(ctx, args, *rest)


def _batch_enable(ctx, args) -> None:
    region = str(args.take_option("region", ctx.config.cloud.region)).upper()
    server = args.take_option("server")
    args.expect_done("cloudserviceconfig enable")
    _enable(ctx, region, None if server is None else str(server))


def _batch_register(ctx, args, token: str | None = None) -> None:
    token = token or args.secret("token", ctx)
    args.expect_done("cloudserviceconfig register")
    if not token:
        raise CommandError("cloudserviceconfig register needs the token: register TOKEN or --token-file=FILE")
    _register(ctx, token)


def _batch_deregister(ctx, args) -> None:
    from asyncos_cli.services.cloud import deregister_portal

    args.expect_done("cloudserviceconfig deregister")
    failing(deregister_portal, client(ctx), ctx.state)
    changed(ctx, "The appliance is deregistered from Cisco Cloud Services")


def _batch_setfqdn(ctx, args, label: str) -> None:
    args.expect_done("cloudserviceconfig setfqdn")
    ctx.replace_section("cloud", fqdn_label=label)
    ctx.say(f"The region label will be {label} when you commit.")


def _batch_fetch(ctx, args) -> None:
    overwrite = args.take_option("overwrite") is not None
    args.expect_done("cloudserviceconfig fetchcertificate")
    _fetch(ctx, overwrite)


def _batch_setup(ctx, args) -> None:
    changes = args.take_fields(field_options(CloudSection, "talos_url", "timeout_seconds", "interaction_tracking",
                                             "aggregator_url", "poll_seconds"))
    args.expect_done("cloudserviceconfig setup")
    if not changes:
        raise UsageError()
    ctx.replace_section("cloud", **changes)
    show(ctx)


def _batch_only(action):
    """An operation without arguments or options."""

    def handler(ctx, args):
        args.expect_done("cloudserviceconfig")
        action(ctx)

    return handler


def _enable(ctx, region: str, server: str | None) -> None:
    from asyncos_cli.services.cloud import set_portal_enabled

    if region not in dict(REGIONS):
        raise CommandError(f"Unknown region {region}; regions: {', '.join(dict(REGIONS))}")
    changes = {"region": region}
    if server is not None:
        changes["server_url"] = server
    new = ctx.replace_section("cloud", **changes)
    set_portal_enabled(ctx.state, True, region)
    changed(ctx, f"Cisco Cloud Service enabled for {region} ({new.server}); commit the region choice")


def _disable(ctx) -> None:
    from asyncos_cli.services.cloud import set_portal_enabled

    set_portal_enabled(ctx.state, False, ctx.config.cloud.region)
    changed(ctx, "Cisco Cloud Service disabled")


def _register(ctx, token: str) -> None:
    from asyncos_cli.services.cloud import portal, register_portal

    if not portal(ctx.state).get("enabled"):
        raise CommandError("The Cisco Cloud Service is disabled: enable it first (cloudserviceconfig enable).")
    failing(register_portal, client(ctx), ctx.state, identity(ctx), token=token)
    changed(ctx, "The appliance is successfully registered with Cisco Cloud Services")


def _fetch(ctx, overwrite: bool) -> None:
    from asyncos_cli.services.cloud import (
        download_certificate,
        store_certificate,
        stored_certificate,
    )

    pair = failing(download_certificate, client(ctx), ctx.state.get("serial", ""))
    current = stored_certificate(ctx.state)
    if current is not None and not overwrite:
        expired = current["not_after"] < time.time()
        if ctx.batch and not expired:
            raise CommandError("A valid Cisco Talos certificate and key exist: add --overwrite to replace them.")
        if not ctx.batch and not ctx.prompter.yes_no("Do you like to overwrite the existing certificate and key", False):
            ctx.say("The existing certificate and key are kept.")
            return
    store_certificate(ctx.state, ctx.keyring, pair)
    changed(ctx, f"Successfully downloaded the Cisco Talos certificate and key ({pair.subject}, valid until "
                 f"{time.strftime('%Y-%m-%d', time.gmtime(pair.not_after))})")


def show(ctx) -> None:
    from asyncos_cli.services.cloud import portal, stored_certificate

    c, p = ctx.config.cloud, portal(ctx.state)
    ctx.say(f"Cisco Cloud Service: {'enabled' if p.get('enabled') else 'disabled'}")
    ctx.say(f"Region: {c.region} ({c.server})" + (f"; label {c.fqdn_label}" if c.fqdn_label else ""))
    if p.get("registered"):
        ctx.say(f"The appliance is successfully registered (device {p['device_id']}, by {p['via']}, "
                f"{time.ctime(p['registered_at'])})")
    else:
        ctx.say("The appliance is not registered")
    if c.interaction_tracking:
        ctx.say(f"Web Interaction Tracking: on; clicks polled from {c.aggregator_url} every {c.poll_seconds} s")
    else:
        ctx.say("Web Interaction Tracking: off")
    cert = stored_certificate(ctx.state)
    if cert is None:
        ctx.say("Cisco Talos certificate: none downloaded")
    else:
        state = "expired" if cert["not_after"] < time.time() else "valid"
        ctx.say(f"Cisco Talos certificate: {cert['subject']}, {state} until "
                f"{time.strftime('%Y-%m-%d', time.gmtime(cert['not_after']))} (key encrypted at rest)")


def wizard(ctx) -> None:
    while True:
        show(ctx)
        choice = ctx.prompter.menu(OPERATIONS)
        if choice is None:
            return
        try:
            if choice == "ENABLE":
                names = [f"{name} ({server})" for name, server in REGIONS]
                pick = ctx.prompter.choose("Enter Cisco Secure Cloud Server to connect to the Cisco Cloud Service",
                                           names, 0)
                _enable(ctx, REGIONS[pick][0], None)
            elif choice == "DISABLE":
                _disable(ctx)
            elif choice == "REGISTER":
                _register(ctx, ctx.prompter.ask("Enter a registration token key:"))
            elif choice == "DEREGISTER":
                from asyncos_cli.services.cloud import deregister_portal

                failing(deregister_portal, client(ctx), ctx.state)
                changed(ctx, "The appliance is deregistered from Cisco Cloud Services")
            elif choice == "SETFQDN":
                ctx.replace_section("cloud", fqdn_label=ctx.prompter.ask(
                    "Enter a label for Cisco Cloud Service region. eg. APJC"))
            elif choice == "FETCHCERTIFICATE":
                _fetch(ctx, False)
        except CommandError as e:
            ctx.prompter.error(str(e))


#: Batch operations: (handler, the numbers of arguments it takes).
_BATCH = {"status": (_batch_only(show), (0,)), "enable": (_batch_enable, (0,)),
          "disable": (_batch_only(_disable), (0,)), "register": (_batch_register, (0, 1)),
          "deregister": (_batch_deregister, (0,)), "setfqdn": (_batch_setfqdn, (1,)),
          "fetchcertificate": (_batch_fetch, (0,)), "setup": (_batch_setup, (0,))}
