"""sslconfig: TLS versions and ciphers for inbound and outbound SMTP, and peer certificate validation.

PEER_CERT_FQDN and PEER_CERT_X509 apply to every TLS client the gateway has.
Today that is outbound SMTP delivery; LDAP, the updater and alerts over TLS
do not exist yet, and the status says so. A destination with TLS
"required-verify" (destconfig) always gets both checks.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import TLS_VERSIONS
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("sslconfig", """
print
inbound [--methods="TLSv1.2 TLSv1.3"] [--ciphers=OPENSSL-CIPHER-LIST]
outbound [--methods="TLSv1.2 TLSv1.3"] [--ciphers=OPENSSL-CIPHER-LIST]
peer_cert_fqdn enable|disable
peer_cert_x509 enable|disable
""", notes="TLS versions: " + ", ".join(TLS_VERSIONS) + " (a contiguous range)")

#: The TLS clients the validation switches reach (later work adds LDAP, the updater and alerts).
CLIENTS = "outbound SMTP delivery"
NOT_YET = "LDAP, updater and alert clients do not exist yet"


@command("sslconfig", "Configure SSL/TLS settings.", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub == "print" and not rest:
        args.expect_done("sslconfig print")
        ctx.say(_status(ctx.config.ssl))
        return
    if sub in ("inbound", "outbound") and not rest:
        changes = args.take_typed((("methods", f"{sub}_methods", str), ("ciphers", f"{sub}_ciphers", str)))
        args.expect_done(f"sslconfig {sub}")
        if not changes:
            raise UsageError()
        ctx.replace_section("ssl", **changes)
        ctx.say(_status(ctx.config.ssl))
        return
    if sub in ("peer_cert_fqdn", "peer_cert_x509") and len(rest) == 1 and rest[0].lower() in ("enable", "disable"):
        args.expect_done(f"sslconfig {sub}")
        ctx.replace_section("ssl", **{sub: rest[0].lower() == "enable"})
        what = "FQDN" if sub.endswith("fqdn") else "x509"
        ctx.say(f"Peer certificate {what} validation is {rest[0].lower()}d (applies to {CLIENTS}; {NOT_YET}).")
        return
    raise UsageError()


def _status(s) -> str:
    onoff = lambda b: "Enabled" if b else "Disabled"  # noqa: E731
    return "\n".join([
        f"Inbound SMTP method: {s.inbound_methods}",
        f"Inbound SMTP ciphers: {s.inbound_ciphers}",
        f"Outbound SMTP method: {s.outbound_methods}",
        f"Outbound SMTP ciphers: {s.outbound_ciphers}",
        f"Peer Certificate FQDN Compliance: {onoff(s.peer_cert_fqdn)}",
        f"Peer Certificate X509 Validation: {onoff(s.peer_cert_x509)}",
        f"(Peer certificate validation applies to {CLIENTS}; {NOT_YET}.)",
    ])


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        s = ctx.config.ssl
        op = p.menu([("INBOUND", "Edit Inbound SMTP ssl settings."),
                     ("OUTBOUND", "Edit Outbound SMTP ssl settings."),
                     ("PEER_CERT_FQDN", "Validate peer certificate FQDN compliance for Alert Over TLS, Outbound "
                                        "SMTP, updater and LDAP."),
                     ("PEER_CERT_X509", "Validate peer certificate X509 compliance for Alert Over TLS, Outbound "
                                        "SMTP, updater and LDAP.")], status=_status(s))
        if op is None:
            return
        try:
            if op in ("INBOUND", "OUTBOUND"):
                side = op.lower()
                # Newest first: TLSv1.3, TLSv1.2, TLSv1.2 TLSv1.3, TLSv1.1, ...
                ranges = [" ".join(TLS_VERSIONS[i:j]) for i in range(len(TLS_VERSIONS) - 1, -1, -1)
                          for j in range(i + 1, len(TLS_VERSIONS) + 1)]
                current = getattr(s, f"{side}_methods")
                method = ranges[p.choose(f"Enter the {side} SMTP ssl method you want to use.", ranges,
                                         ranges.index(current) if current in ranges else None)]
                ciphers = p.ask(f"Enter the {side} SMTP ssl cipher you want to use.", getattr(s, f"{side}_ciphers"))
                run(ctx, Args([side], {"methods": method, "ciphers": ciphers}))
            else:
                field_name = op.lower()
                enabled = getattr(s, field_name)
                what = "FQDN" if op.endswith("FQDN") else "X509"
                action = p.menu([("ENABLE", f"Enable peer certificate {what} validation."),
                                 ("DISABLE", f"Disable peer certificate {what} validation.")],
                                status=f"Peer certificate {what} validation is "
                                       f"{'enabled' if enabled else 'disabled'}.")
                if action is not None:
                    run(ctx, Args([field_name, action.lower()], {}))
        except CommandError as e:
            p.error(str(e))
