"""interfaceconfig: named IP interfaces and the administrative services on each (SSH, the API, the web)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import SERVICES, Interface
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

SERVICE_FIELDS = tuple(name for stem, _ in SERVICES for name in (stem, f"{stem}_port"))
INTERFACE_FIELDS = field_options(Interface, "address", "hostname", *SERVICE_FIELDS, "certificate")

GRAMMAR = Grammar("interfaceconfig", """
print
new NAME --address=IP [INTERFACE]
edit NAME [INTERFACE]
delete NAME
""", fields={"INTERFACE": INTERFACE_FIELDS},
    notes="NAME: an interface's name or its number in 'interfaceconfig print'. Each service is turned on with "
          "--ssh=yes, --api-https=yes, ... and moved with --ssh-port=N, --api-https-port=N, ... "
          "--certificate: a certconfig name for HTTPS (empty: the demonstration certificate).",
    names=lambda c: [i.name for i in c.interfaces.interfaces])


def _line(i: Interface) -> str:
    services = ", ".join(f"{label} {port}" for _, label, port in i.services()) or "no services"
    host = f" {i.hostname}" if i.hostname else ""
    cert = f"; certificate {i.certificate}" if i.certificate else ""
    return f"{i.name} ({i.address}/{host.strip() or 'the system host name'}): {services}{cert}"


EDITOR = ListEditor("interface", "interfaceconfig", lambda ctx: ctx.config.interfaces.interfaces,
                    lambda i: i.name, heading="Currently configured interfaces:", line=_line,
                    stored_in=("interfaces", "interfaces"))


@command("interfaceconfig", "Configure the interfaces.", roles=R.ADMIN_ONLY, grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.subcommand(), args.positional[1:]
    changes = args.take_fields(INTERFACE_FIELDS)
    args.expect_done(f"interfaceconfig {sub}")
    if sub == "new" and len(rest) == 1:
        return _new(ctx, rest[0], changes)
    if sub == "edit" and len(rest) == 1 and changes:
        return _edit(ctx, EDITOR.find(ctx, rest[0]), changes)
    if sub == "delete" and len(rest) == 1 and not changes:
        return _delete(ctx, EDITOR.find(ctx, rest[0]))
    raise UsageError()


def _checked(ctx, iface: Interface) -> Interface:
    if iface.certificate and ctx.config.certificates.get(iface.certificate) is None:
        raise CommandError(f"There is no certificate named {iface.certificate} ('certconfig print' lists them).")
    return iface


def _new(ctx, name: str, changes: dict) -> None:
    EDITOR.refuse_duplicate(ctx, name)
    if "address" not in changes:
        raise CommandError("give the interface's address: --address=IP")
    try:
        iface = Interface(name, **changes)
    except ConfigError as e:
        raise CommandError(f"Interface {name}: {e}") from None
    EDITOR.put(ctx, None, _checked(ctx, iface))
    ctx.say(f"Interface {name} created; commit to apply.")


def _edit(ctx, old: Interface, changes: dict) -> None:
    try:
        new = old.replace(**changes)
    except ConfigError as e:
        raise CommandError(f"Interface {old.name}: {e}") from None
    EDITOR.put(ctx, old, _checked(ctx, new))
    ctx.say(f"Interface {new.name} changed; commit to apply.")


def _delete(ctx, iface: Interface) -> None:
    users = [l.name for l in ctx.config.listeners.listeners
             if l.interface.lower() == iface.name.lower() or l.interface == iface.address]
    if users:
        raise CommandError(f"Interface {iface.name} is used by the listener(s) {', '.join(users)}: "
                           "move or delete them first (listenerconfig).")
    EDITOR.put(ctx, iface, None)
    ctx.say(f"Interface {iface.name} deleted; commit to apply.")


def show(ctx) -> None:
    EDITOR.print(ctx)


# ---------------------------------------------------------------- the wizard


def _ask_services(ctx, iface: Interface) -> dict:
    p, changes = ctx.prompter, {}
    for stem, label in SERVICES:
        on = p.yes_no(f"Do you want to enable {label} on this interface?", getattr(iface, stem))
        changes[stem] = on
        if on:
            changes[f"{stem}_port"] = p.ask_setting(f"Which port do you want to use for {label}?", Interface,
                                                    f"{stem}_port", getattr(iface, f"{stem}_port"))
    return changes


def _wizard_new(ctx) -> None:
    p = ctx.prompter
    name = p.ask_setting("Please enter a name for this IP interface (Ex: \"InternalNet\"):", Interface, "name")
    address = p.ask_setting("IP Address (Ex: 192.168.1.2):", Interface, "address")
    hostname = p.ask_setting("Hostname (Enter for the system host name):", Interface, "hostname", "")
    base = Interface(name, address, hostname)
    _new(ctx, name, {"address": address, "hostname": hostname, **_ask_services(ctx, base)})


def _wizard_edit(ctx, iface: Interface) -> None:
    p = ctx.prompter
    address = p.ask_setting("IP Address (Ex: 192.168.1.2):", Interface, "address", iface.address)
    hostname = p.ask_setting("Hostname (Enter for the system host name):", Interface, "hostname", iface.hostname)
    _edit(ctx, iface, {"address": address, "hostname": hostname, **_ask_services(ctx, iface)})


def _wizard_delete(ctx, iface: Interface) -> None:
    if ctx.prompter.yes_no(f"Are you sure you want to delete {iface.name}?", False):
        _delete(ctx, iface)


def wizard(ctx) -> None:
    EDITOR.menu(ctx, EDITOR.standard(_wizard_new, _wizard_edit, _wizard_delete))
