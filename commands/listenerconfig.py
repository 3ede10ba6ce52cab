"""listenerconfig: SMTP listeners and their recipient access tables."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError, parse_scalar
from asyncos_cli.config.schema import Listener
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("listenerconfig", """
print
new NAME --kind=public|private --interface=ADDR --port=N
edit NAME [--interface=ADDR] [--port=N] [--starttls=off|preferred|required]
      [--max-message-size=BYTES] [--max-recipients=N] [--max-connections=N] [--enabled=yes|no]
      [--idle-timeout=SECONDS] [--max-header-count=N] [--max-header-size=BYTES]
      [--certificate=NAME]   (certconfig; empty: the demonstration certificate)
edit NAME rcptaccess add DOMAIN | delete DOMAIN | print
delete NAME
[edit LISTENER] hostaccess print
hostaccess add GROUP SENDER      (IP, CIDR, host name, .domain or ALL)
hostaccess delete GROUP SENDER
hostaccess policy NAME [--action=accept|reject|tcprefuse|relay] [--max-message-size=BYTES]
      [--max-recipients=N] [--max-messages-per-hour=N] [--max-connections-per-ip=N]
      [--tls=off|preferred|required] [--sdr=yes|no]
""")
USAGE = GRAMMAR.usage()

POLICY_OPTIONS = {
    "action": ("action", str),
    "max-message-size": ("max_message_bytes", int),
    "max-recipients": ("max_recipients", int),
    "max-messages-per-hour": ("max_messages_per_hour", int),
    "max-connections-per-ip": ("max_connections_per_ip", int),
    "tls": ("tls", str),
    "sdr-check": ("sdr_check", bool),
    "sdr": ("sdr_check", bool),
}

OPTIONS = {
    "interface": ("interface", str),
    "port": ("port", int),
    "starttls": ("starttls", str),
    "max-message-size": ("max_message_bytes", int),
    "max-recipients": ("max_recipients", int),
    "max-connections": ("max_connections", int),
    "idle-timeout": ("idle_timeout_seconds", int),
    "max-header-count": ("max_header_count", int),
    "max-header-size": ("max_header_bytes", int),
    "enabled": ("enabled", bool),
    "certificate": ("certificate", str),
}


@command("listenerconfig", "Configure mail listeners.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    rest = args.positional[1:]
    if sub == "new" and len(rest) == 1:
        changes = _options(args)
        kind = args.take_option("kind", "public")
        args.expect_done("listenerconfig new")
        return _new(ctx, rest[0], str(kind), changes)
    if sub == "edit" and len(rest) >= 1:
        listener = _get(ctx, rest[0])
        if len(rest) >= 2 and rest[1].lower() == "rcptaccess":
            args.expect_done("listenerconfig edit rcptaccess")
            return _rcptaccess(ctx, listener, rest[2:])
        if len(rest) >= 2 and rest[1].lower() == "hostaccess":
            return _hostaccess(ctx, args, rest[2:])  # the host access table is shared by the listeners
        changes = _options(args)
        args.expect_done("listenerconfig edit")
        if not changes or len(rest) != 1:
            raise CommandError(USAGE)
        return _replace(ctx, listener, listener_replace(listener, changes))
    if sub == "hostaccess":
        return _hostaccess(ctx, args, rest)
    if sub == "delete" and len(rest) == 1:
        args.expect_done("listenerconfig delete")
        listener = _get(ctx, rest[0])
        _stage(ctx, [l for l in _listeners(ctx) if l.name != listener.name])
        ctx.say(f"Listener {listener.name} deleted; commit to apply.")
        return
    raise CommandError(USAGE)


def _listeners(ctx):
    return ctx.config.listeners.listeners


def _get(ctx, name: str) -> Listener:
    """By name, or by its number in the printed list (as the appliance's menus accept)."""
    listener = ctx.config.listeners.get(name)
    listeners = _listeners(ctx)
    if listener is None and name.strip().isdigit() and 1 <= int(name) <= len(listeners):
        listener = listeners[int(name) - 1]
    if listener is None:
        raise CommandError(f"There is no listener named {name!r} ('listenerconfig print' lists them).")
    return listener


def _options(args) -> dict:
    return _options_from(args, OPTIONS)


def listener_replace(listener: Listener, changes: dict) -> Listener:
    try:
        return listener.replace(**changes)
    except ConfigError as e:
        raise CommandError(f"Listener {listener.name}: {e}") from None


def _stage(ctx, listeners) -> None:
    for listener in listeners:
        if listener.certificate and ctx.config.certificates.get(listener.certificate) is None:
            raise CommandError(f"There is no certificate named {listener.certificate} ('certconfig print' "
                               "lists them).")
    try:
        ctx.stage(ctx.config.listeners.replace(listeners=tuple(listeners)))
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _replace(ctx, old: Listener, new: Listener) -> None:
    _stage(ctx, [new if l.name == old.name else l for l in _listeners(ctx)])
    ctx.say(f"Listener {new.name} changed; commit to apply.")


def _new(ctx, name: str, kind: str, changes: dict) -> None:
    if ctx.config.listeners.get(name):
        raise CommandError(f"A listener named {name} already exists.")
    try:
        listener = Listener(name, kind, **changes)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    _stage(ctx, [*_listeners(ctx), listener])
    ctx.say(f"Listener {name} created; commit to apply.")


def _rcptaccess(ctx, listener: Listener, rest: list[str]) -> None:
    op = rest[0].lower() if rest else "print"
    if op == "print" and len(rest) <= 1:
        for d in listener.rcpt_access:
            ctx.say(f"{d} ACCEPT")
        if not listener.rcpt_access:
            ctx.say("The recipient access table is empty: this listener accepts no recipients.")
        return
    if op in ("add", "new") and len(rest) == 2:
        if listener.kind != "public":
            raise CommandError("Only public listeners have a recipient access table.")
        if rest[1] in listener.rcpt_access:
            raise CommandError(f"{rest[1]} is already in the recipient access table.")
        return _replace(ctx, listener, listener_replace(listener, {"rcpt_access": (*listener.rcpt_access, rest[1])}))
    if op == "delete" and len(rest) == 2:
        if rest[1] not in listener.rcpt_access:
            raise CommandError(f"{rest[1]} is not in the recipient access table.")
        return _replace(ctx, listener, listener_replace(
            listener, {"rcpt_access": tuple(d for d in listener.rcpt_access if d != rest[1])}))
    raise CommandError(USAGE)


def _options_from(args, table: dict) -> dict:
    changes = {}
    for opt, (field_name, tp) in table.items():
        if opt in args.options:
            try:
                changes[field_name] = parse_scalar(tp, str(args.take_option(opt)), f"--{opt}")
            except ConfigError as e:
                raise CommandError(str(e)) from None
    return changes


def _hostaccess(ctx, args, rest: list[str]) -> None:
    hat = ctx.config.hat
    op = rest[0].lower() if rest else "print"
    if op == "print" and len(rest) <= 1:
        args.expect_done("listenerconfig hostaccess print")
        return _print_hat(ctx)
    if op in ("add", "delete") and len(rest) == 3:
        args.expect_done(f"listenerconfig hostaccess {op}")
        group = next((g for g in hat.sender_groups if g.name.lower() == rest[1].lower()), None)
        if group is None:
            raise CommandError(f"There is no sender group {rest[1]!r}; groups: "
                               + ", ".join(g.name for g in hat.sender_groups))
        if op == "add":
            if rest[2] in group.senders:
                raise CommandError(f"{rest[2]} is already in {group.name}.")
            senders = (*group.senders, rest[2])
        else:
            if rest[2] not in group.senders:
                raise CommandError(f"{rest[2]} is not in {group.name}.")
            senders = tuple(x for x in group.senders if x != rest[2])
        try:
            new_group = group.replace(senders=senders)
            ctx.stage(hat.replace(sender_groups=tuple(new_group if g is group else g for g in hat.sender_groups)))
        except ConfigError as e:
            raise CommandError(str(e)) from None
        ctx.say(f"Sender group {group.name}: {', '.join(senders) or '(empty)'}; commit to apply.")
        return
    if op == "policy" and len(rest) == 2:
        policy = next((p for p in hat.policies if p.name.lower() == rest[1].lower()), None)
        if policy is None:
            raise CommandError(f"There is no mail flow policy {rest[1]!r}; policies: "
                               + ", ".join(p.name for p in hat.policies))
        changes = _options_from(args, POLICY_OPTIONS)
        args.expect_done("listenerconfig hostaccess policy")
        if not changes:
            raise CommandError(USAGE)
        try:
            new = policy.replace(**changes)
            ctx.stage(hat.replace(policies=tuple(new if p is policy else p for p in hat.policies)))
        except ConfigError as e:
            raise CommandError(f"Policy {policy.name}: {e}") from None
        ctx.say(f"Mail flow policy {new.name} changed; commit to apply.")
        return
    raise CommandError(USAGE)


def _print_hat(ctx) -> None:
    hat = ctx.config.hat
    ctx.say("Sender groups (first match wins):")
    for g in hat.sender_groups:
        ctx.say(f"  {g.name:<14} {g.listener_kind:<8} policy {g.policy:<10} {', '.join(g.senders) or '(empty)'}")
    ctx.say("Mail flow policies:")
    for p in hat.policies:
        ctx.say(f"  {p.name:<10} {p.action:<9} size {p.max_message_bytes}, rcpts {p.max_recipients}, "
                f"msgs/hour {p.max_messages_per_hour or 'unlimited'}, conns/IP {p.max_connections_per_ip}, "
                f"TLS {p.tls}, SDR check {'on' if p.sdr_check else 'off'}")


def show(ctx) -> None:
    ctx.say("Currently configured listeners:")
    for i, l in enumerate(_listeners(ctx), 1):
        state = "" if l.enabled else " (disabled)"
        ctx.say(f"{i}. {l.name} ({l.interface}) SMTP TCP Port {l.port} {l.kind.capitalize()}{state}")
        ctx.say(f"   STARTTLS {l.starttls} with the certificate {l.certificate or '(demonstration)'}; at most {l.max_message_bytes} bytes and {l.max_recipients} "
                f"recipients per message; {l.max_connections} connections; idle timeout "
                f"{l.idle_timeout_seconds} s; at most {l.max_header_count} header fields, {l.max_header_bytes} "
                "header bytes")
        if l.kind == "public":
            ctx.say(f"   Recipient access: {', '.join(l.rcpt_access) or '(none)'}")


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        show(ctx)
        op = p.menu([("NEW", "Create a new listener."), ("EDIT", "Modify a listener."),
                     ("DELETE", "Remove a listener.")])
        if op is None:
            return
        if op == "NEW":
            name = p.ask("Please create a name for this listener (Ex: \"InboundMail\"):")
            kind = ("public", "private")[p.choose("Choose a type of listener:", ["Public", "Private"], 0)]
            iface = p.ask("Enter the IP address of the interface to listen on.", "127.0.0.1")
            port = p.ask_int("Enter the TCP port for this listener.", 25, 1, 65535)
            _new(ctx, name, kind, {"interface": iface, "port": port})
        elif op == "EDIT":
            listener = _get(ctx, p.ask("Enter the name of the listener you wish to edit."))
            sub = p.menu([("SETUP", "Change interface, port and limits."), ("RCPTACCESS", "Edit the recipient access table.")])
            if sub == "SETUP":
                changes = {
                    "interface": p.ask("Enter the IP address of the interface to listen on.", listener.interface),
                    "port": p.ask_int("Enter the TCP port for this listener.", listener.port, 1, 65535),
                    "starttls": ("off", "preferred", "required")[p.choose(
                        "Choose the STARTTLS setting:", ["Off", "Preferred", "Required"],
                        ("off", "preferred", "required").index(listener.starttls))],
                    "max_message_bytes": p.ask_int("Enter the maximum message size in bytes.",
                                                   listener.max_message_bytes, 1024, 1024**3),
                    "max_connections": p.ask_int("Enter the maximum number of concurrent connections.",
                                                 listener.max_connections, 1, 100000),
                    "idle_timeout_seconds": p.ask_int(
                        "Enter the number of seconds a client may stay silent before it is disconnected.",
                        listener.idle_timeout_seconds, 5, 3600),
                    "max_header_count": p.ask_int("Enter the maximum number of header fields in a message.",
                                                  listener.max_header_count, 10, 100000),
                    "max_header_bytes": p.ask_int("Enter the maximum size of a message header in bytes.",
                                                  listener.max_header_bytes, 1024, 1024**3),
                }
                _replace(ctx, listener, listener_replace(listener, changes))
            elif sub == "RCPTACCESS":
                _rcptaccess(ctx, listener, ["print"])
                act = p.menu([("NEW", "Add a domain."), ("DELETE", "Remove a domain.")])
                if act:
                    _rcptaccess(ctx, listener, ["add" if act == "NEW" else "delete", p.ask("Enter the domain.")])
        elif op == "DELETE":
            listener = _get(ctx, p.ask("Enter the name of the listener you wish to delete."))
            if p.yes_no(f"Are you sure you want to delete {listener.name}?", False):
                _stage(ctx, [l for l in _listeners(ctx) if l.name != listener.name])
