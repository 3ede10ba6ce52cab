"""license_smart: Smart Licensing — enable, register with a token, renew, deregister, status.

Registration is state (this machine's), not configuration: a rollback never
unregisters. After a successful registration the Cisco Cloud Services portal
is enabled and registered with the same identity, without further steps (14.0).
"""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.config.cloud import LicensingSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.cloud import changed, client, failing, identity

GRAMMAR = Grammar("license_smart", """
status | print
enable | disable               (a configuration change: commit it)
register --token=TOKEN | --token-file=FILE
renew
deregister
setup [--url=https://...] [--timeout=SECONDS]
""")

@command("license_smart", "Configure Smart Software Licensing.", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand() or "status"
    if len(args.positional) > 1:
        raise UsageError()
    if sub == "status":
        args.expect_done("license_smart status")
        return show(ctx)
    if sub in ("enable", "disable"):
        args.expect_done(f"license_smart {sub}")
        ctx.replace_section("licensing", smart_licensing=sub == "enable")
        if sub == "enable":
            from asyncos_cli.services.licensing import start_evaluation

            start_evaluation(ctx.state)  # the 90-day evaluation counts from the first enable
        ctx.say(f"Smart Licensing will be {sub}d when you commit.")
        return None
    if sub == "setup":
        changes = args.take_fields(field_options(LicensingSection, "url", "timeout_seconds"))
        args.expect_done("license_smart setup")
        if not changes:
            raise UsageError()
        ctx.replace_section("licensing", **changes)
        return show(ctx)
    if sub == "register":
        token = args.secret("token", ctx)
        args.expect_done("license_smart register")
        if not token:
            raise CommandError("license_smart register needs --token=TOKEN or --token-file=FILE")
        return _register(ctx, token)
    if sub == "renew":
        args.expect_done("license_smart renew")
        from asyncos_cli.services.cloud import renew_license

        record = failing(renew_license, client(ctx), ctx.state)
        return changed(ctx, f"Smart Licensing authorization renewed for {record['product_instance_id']}")
    if sub == "deregister":
        args.expect_done("license_smart deregister")
        from asyncos_cli.services.cloud import deregister_license

        failing(deregister_license, client(ctx), ctx.state)
        return changed(ctx, "The appliance is deregistered from Smart Software Licensing")
    raise UsageError()


def _register(ctx, token: str) -> None:
    from asyncos_cli.services.cloud import CloudError, register_license, register_portal

    if not ctx.config.licensing.smart_licensing:
        raise CommandError("Smart Licensing is not enabled: run 'license_smart enable; commit' first.")
    c = client(ctx)
    record = failing(register_license, c, ctx.state, token, identity(ctx))
    changed(ctx, f"The appliance is registered with Smart Software Licensing: product instance "
                 f"{record['product_instance_id']}, smart account {record['smart_account_name']}")
    _for_the_cluster(ctx, token, record)
    try:  # 14.0: the cloud services portal follows the licensing registration
        register_portal(c, ctx.state, identity(ctx), product_instance_id=record["product_instance_id"])
    except CloudError as e:
        changed(ctx, f"Cisco Cloud Services could not be registered automatically: {e} "
                     "(cloudserviceconfig register TOKEN)")
        return
    changed(ctx, f"Cisco Cloud Services enabled and registered ({ctx.config.cloud.region}, {ctx.config.cloud.server})")


def _for_the_cluster(ctx, token: str, record: dict) -> None:
    """In a cluster, every other machine registers itself too (on its next heartbeat, a few seconds)."""
    from asyncos_cli.config.cluster import Membership

    member = Membership.load(ctx.datadir)
    if member is None:
        return
    with _cluster_licensing(member) as licensing:
        licensing.record(member.machine, licensing.request(ctx.keyring.seal(token).token, ctx.user, member.machine),
                         "Registered", record["product_instance_id"])
    changed(ctx, f"Registration requested for every machine of the cluster {member.cluster}: "
                 "'license_smart status' shows each machine's state")


def _cluster_licensing(member):
    from asyncos_cli.services.cluster_licensing import ClusterLicensing
    from asyncos_cli.shell.shared.cluster import cluster_tables

    return cluster_tables(member, ClusterLicensing)


def _cluster_states(ctx) -> None:
    from asyncos_cli.config.cluster import Membership

    member = Membership.load(ctx.datadir)
    if member is None:
        return
    with _cluster_licensing(member) as licensing:
        states = licensing.states()
    ctx.say()
    ctx.say(f"Cluster {member.cluster}:")
    ctx.say(f"{'Machine':<16} {'Registration':<22} {'Product instance':<18} Detail")
    for s in states:
        ctx.say(f"{s['machine']:<16} {s['state']:<22} {s['product_instance_id'] or '-':<18} {s['detail']}".rstrip())


def show(ctx) -> None:
    from asyncos_cli.services.cloud import LICENSE_KEY

    s = ctx.config.licensing
    record = ctx.state.get(LICENSE_KEY) or {}
    ctx.say(f"Smart Licensing Status: {'Enabled' if s.smart_licensing else 'Disabled'}")
    ctx.say(f"Licensing server: {s.url}")
    if record.get("registered"):
        ctx.say("Registration Status: Registered")
        ctx.say(f"Registration Date: {time.ctime(record['registered_at'])}")
        ctx.say(f"Last Renewal Attempt: {time.ctime(record['renewed_at'])}")
        if record.get("expires"):
            ctx.say(f"Registration Expires: {record['expires']}")
        ctx.say(f"Smart Account: {record['smart_account_name']}")
        ctx.say(f"Virtual Account: {record['virtual_account_domain']}")
    else:
        ctx.say("Registration Status: Unregistered")
    _cluster_states(ctx)
