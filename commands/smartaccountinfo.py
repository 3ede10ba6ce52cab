"""smartaccountinfo: the Smart Account this machine is registered with (license_smart register)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command

FIELDS = (("Product Instance ID", "product_instance_id"), ("Smart Account Domain", "smart_account_domain"),
          ("Smart Account ID", "smart_account_id"), ("Smart Account Name", "smart_account_name"), ("VLN", "vln"),
          ("Virtual Account Domain", "virtual_account_domain"), ("Virtual Account ID", "virtual_account_id"))


@command("smartaccountinfo", "Display the Smart Account details.", roles=R.VIEW)
def run(ctx, args):
    from asyncos_cli.services.cloud import LICENSE_KEY

    args.expect_done("smartaccountinfo")
    record = ctx.state.get(LICENSE_KEY) or {}
    if not ctx.config.licensing.smart_licensing or not record.get("registered"):
        # The values are real only when Smart Licensing is on and registered, as on the appliance.
        ctx.say("Smart Licensing is not " + ("registered" if ctx.config.licensing.smart_licensing else "enabled")
                + "; no Smart Account details.")
    for label, key in FIELDS:
        ctx.say(f"{label}: {record.get(key, '') if record.get('registered') else ''}")
