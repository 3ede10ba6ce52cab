"""snmpconfig: the SNMP agent (SNMPv3, optional v1/v2c), the traps and their thresholds.

The interactive form is the appliance's SETUP wizard; the batch form takes
the same settings as options. Both end in one ``_stage``: the section
validates them (a passphrase under 8 characters, an unknown trap, a bad
network) before anything is staged.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import (
    HARDWARE_TRAPS,
    SNMP_AUTH_PROTOCOLS,
    SNMP_KEY_EXTENSIONS,
    SNMP_LEVELS,
    SNMP_PASSPHRASE_MIN,
    SNMP_PRIV_PROTOCOLS,
    SNMP_TRAPS,
    SnmpSection,
    check_engine_id,
    community_problem,
)
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.reveal import print_maybe_revealed

GRAMMAR = Grammar("snmpconfig", """
print [--reveal]      (--reveal: the community strings in clear; administrators, logged)
setup [--enabled=yes|no] [--listen=IP] [--port=N] [--v3-user=NAME]
      [--v3-level=noAuthNoPriv|authNoPriv|authPriv] [--auth-protocol=MD5|SHA|SHA-224|SHA-256|SHA-384|SHA-512]
      [--auth-passphrase=P | --auth-passphrase-file=F] [--priv-protocol=DES|AES|AES-192|AES-256]
      [--key-extension=reeder|blumenthal]
      [--priv-passphrase=P | --priv-passphrase-file=F] [--engine-id=HEX|auto]
      [--v2c=yes|no] [--community=S | --community-file=F] [--v2c-ipv4=yes|no] [--v2c-networks-v4=NET,...]
      [--v2c-ipv6=yes|no] [--v2c-networks-v6=NET,...] [--trap-version=v2c|v3]
      [--trap-targets=HOST[:PORT],...|none] [--trap-community=S | --trap-community-file=F]
      [--enable-traps=NAME|NUMBER,...] [--disable-traps=NAME|NUMBER,...]
      [--cpu-threshold=PERCENT] [--memory-threshold=PERCENT] [--connectivity-url=URL]
      [--location=TEXT] [--contact=TEXT]
""")

PASSPHRASE_TOO_SHORT = f"The SNMPv3 password must be at least {SNMP_PASSPHRASE_MIN} characters long."


@command("snmpconfig", "Configure SNMP.", roles=R.ADMIN_ONLY, secret_options=("auth-passphrase", "priv-passphrase", "community", "trap-community"), grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    if len(args.positional) != 1:
        raise UsageError()
    if sub == "print":
        return print_maybe_revealed(ctx, args, "snmpconfig", "SNMP community strings", show)
    if sub == "setup":
        changes = _batch_changes(ctx, args)
        args.expect_done("snmpconfig setup")
        if not changes:
            raise UsageError()
        _stage(ctx, changes)
        return show(ctx)
    raise UsageError()


# ---------------------------------------------------------------- batch


def _batch_changes(ctx, args) -> dict:
    changes = args.take_typed((
        ("enabled", "enabled", bool), ("listen", "listen", str), ("port", "port", int),
        ("v3-user", "v3_user", str), ("v3-level", "v3_level", str), ("auth-protocol", "auth_protocol", str),
        ("priv-protocol", "priv_protocol", str), ("key-extension", "priv_key_extension", str),
        ("v2c", "v2c_enabled", bool),
        ("v2c-ipv4", "v2c_ipv4", bool), ("v2c-ipv6", "v2c_ipv6", bool), ("trap-version", "trap_version", str),
        ("cpu-threshold", "cpu_threshold", int),
        ("memory-threshold", "memory_threshold", int), ("connectivity-url", "connectivity_url", str),
        ("location", "location", str), ("contact", "contact", str)))
    for opt, name in (("v3-level", "v3_level"), ("auth-protocol", "auth_protocol"), ("priv-protocol", "priv_protocol"),
                      ("key-extension", "priv_key_extension")):
        if name in changes:
            changes[name] = _canonical(changes[name], {"v3_level": SNMP_LEVELS, "auth_protocol": SNMP_AUTH_PROTOCOLS,
                                                       "priv_protocol": SNMP_PRIV_PROTOCOLS,
                                                       "priv_key_extension": SNMP_KEY_EXTENSIONS}[name], opt)
    for opt, name in (("auth-passphrase", "auth_passphrase"), ("priv-passphrase", "priv_passphrase")):
        value = args.secret(opt, ctx)
        if value is not None:
            if len(value) < SNMP_PASSPHRASE_MIN:
                raise CommandError(PASSPHRASE_TOO_SHORT)
            changes[name] = ctx.keyring.seal(value)
    for opt, name in (("community", "community"), ("trap-community", "trap_community")):
        value = args.secret(opt, ctx)
        if value is not None:
            problem = community_problem(value)
            if problem:
                raise CommandError(problem)
            changes[name] = ctx.keyring.seal(value)
    engine_id = args.take_option("engine-id")
    if engine_id is not None:
        changes["engine_id"] = "" if str(engine_id).lower() in ("auto", "") else str(engine_id)
    for opt, name in (("v2c-networks-v4", "v2c_networks_v4"), ("v2c-networks-v6", "v2c_networks_v6"),
                      ("trap-targets", "trap_targets")):
        value = args.take_option(opt)
        if value is not None:
            changes[name] = _list(value)
    enabled = set(changes.get("enabled_traps", ctx.config.snmp.enabled_traps))
    for opt, on in (("enable-traps", True), ("disable-traps", False)):
        value = args.take_option(opt)
        if value is not None:
            for trap in _traps(value):
                (enabled.add if on else enabled.discard)(trap)
            changes["enabled_traps"] = tuple(t for t in SNMP_TRAPS if t in enabled)
    return changes


def _canonical(value: str, choices, opt: str) -> str:
    for c in choices:
        if c.lower() == value.lower():
            return c
    raise CommandError(f"--{opt} takes one of {', '.join(choices)}")


def _list(value) -> tuple[str, ...]:
    text = "" if value is True else str(value)
    if text.strip().lower() in ("", "none"):
        return ()
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _traps(value) -> list[str]:
    out = []
    for item in _list(value):
        if item.isdigit() and 1 <= int(item) <= len(SNMP_TRAPS):
            out.append(SNMP_TRAPS[int(item) - 1])
            continue
        match = [t for t in SNMP_TRAPS if t.lower() == item.lower()]
        if not match:
            raise CommandError(f"unknown trap {item!r}; traps: {', '.join(SNMP_TRAPS)}")
        out.append(match[0])
    return out


def _stage(ctx, changes: dict) -> None:
    ctx.replace_section("snmp", **changes)


# ---------------------------------------------------------------- interactive


def _status(ctx) -> str:
    return "SNMP Enabled" if ctx.config.snmp.enabled else "SNMP Disabled"


def wizard(ctx) -> None:
    while True:
        choice = ctx.prompter.menu([("SETUP", "Configure SNMP.")], status=_status(ctx))
        if choice is None:
            return
        _wizard(ctx)


def _wizard(ctx) -> None:
    p = ctx.prompter
    s = ctx.config.snmp
    changes: dict = {}
    if not p.yes_no("Would you like to enable SNMP?", s.enabled or True):
        _stage(ctx, {"enabled": False})
        return
    changes["enabled"] = True
    changes["listen"] = p.ask("Enter the IP address of the interface for SNMP requests.", s.listen,
                              validate=_ip_problem)
    changes["port"] = p.ask_setting("Which port shall the SNMP daemon listen on?", SnmpSection, "port", s.port)
    _ask_v3(ctx, s, changes)
    engine = p.ask("Enter the SNMP engine ID in hex, or AUTO to derive it from the serial number.",
                   s.engine_id or "AUTO", validate=_engine_problem)
    changes["engine_id"] = "" if engine.lower() == "auto" else engine
    changes["v2c_enabled"] = p.yes_no("Service SNMP V1/V2c requests?", s.v2c_enabled)
    if changes["v2c_enabled"]:
        _ask_v2c(ctx, s, changes)
    targets = p.ask("Enter the Trap target as a host name, IP address or list of them separated by commas "
                    "(host:port for a port other than 162; IPv6 in brackets). Enter None to disable traps.",
                    ", ".join(s.trap_targets) or "None", validate=_targets_problem)
    changes["trap_targets"] = _list(targets)
    if changes["trap_targets"] and changes.get("v2c_enabled") and changes.get("trap_version") == "v2c":
        changes["trap_community"] = ctx.keyring.seal(p.ask(
            "Enter the Trap Community string.", s.community_text(ctx.keyring.reveal, "trap_community"),
            validate=community_problem))
    _trap_table(ctx, changes, s)
    changes["location"] = p.ask("Enter the System Location string.", s.location, allow_empty=True)
    changes["contact"] = p.ask("Enter the System Contact string.", s.contact, allow_empty=True)
    _stage(ctx, changes)
    ctx.say("SNMP settings staged; commit to apply them.")


def _ask_v3(ctx, s, changes: dict) -> None:
    """The SNMPv3 security level, and the protocols and passphrases it needs."""
    p = ctx.prompter
    level = SNMP_LEVELS[p.choose("Select SNMPv3 security level:", SNMP_LEVELS, SNMP_LEVELS.index(s.v3_level))]
    changes["v3_level"] = level
    auth_plain = None
    if level != "noAuthNoPriv":
        changes["auth_protocol"] = SNMP_AUTH_PROTOCOLS[p.choose(
            "Select SNMPv3 authentication type:", SNMP_AUTH_PROTOCOLS, SNMP_AUTH_PROTOCOLS.index(s.auth_protocol))]
        if s.auth_passphrase is None or p.yes_no("Do you want to change the SNMPv3 authentication passphrase?",
                                                 False):
            auth_plain = p.secret("Enter the SNMPv3 authentication passphrase.",
                                  "Please enter the SNMPv3 authentication passphrase again.", _passphrase_problem)
            changes["auth_passphrase"] = ctx.keyring.seal(auth_plain)
    if level == "authPriv":
        changes["priv_protocol"] = SNMP_PRIV_PROTOCOLS[p.choose(
            "Select SNMPv3 privacy protocol:", SNMP_PRIV_PROTOCOLS, SNMP_PRIV_PROTOCOLS.index(s.priv_protocol))]
        if changes["priv_protocol"] in ("AES-192", "AES-256"):
            labels = ["Reeder (as Cisco devices; net-snmp -x AES-256-C)", "Blumenthal (net-snmp -x AES-256)"]
            changes["priv_key_extension"] = SNMP_KEY_EXTENSIONS[p.choose(
                "Select the key extension for AES-192/256 keys:", labels,
                SNMP_KEY_EXTENSIONS.index(s.priv_key_extension))]
        if s.priv_passphrase is None or p.yes_no("Do you want to change the SNMPv3 privacy passphrase?", False):
            while True:
                priv = p.secret("Enter the SNMPv3 privacy passphrase.",
                                "Please enter the SNMPv3 privacy passphrase again.", _passphrase_problem)
                if priv == auth_plain and p.yes_no(
                        "The privacy passphrase is the same as the authentication passphrase. "
                        "Do you want to set other passwords?", False):
                    continue
                break
            changes["priv_passphrase"] = ctx.keyring.seal(priv)


def _ask_v2c(ctx, s, changes: dict) -> None:
    """SNMP v1/v2c: the community, the networks served and the trap version."""
    p = ctx.prompter
    changes["community"] = ctx.keyring.seal(p.ask(
        "Enter the SNMP V1/V2c community string.", s.community_text(ctx.keyring.reveal),
        validate=community_problem))
    changes["v2c_ipv4"] = p.yes_no("Shall SNMP V2c requests be serviced from IPv4 addresses?", s.v2c_ipv4)
    if changes["v2c_ipv4"]:
        changes["v2c_networks_v4"] = _list(p.ask(
            "From which IPv4 networks shall SNMP V1/V2c requests be allowed? Separate multiple networks "
            "with commas.", ", ".join(s.v2c_networks_v4), validate=lambda t: _networks_problem(t, 4)))
    changes["v2c_ipv6"] = p.yes_no("Shall SNMP V2c requests be serviced from IPv6 addresses?", s.v2c_ipv6)
    if changes["v2c_ipv6"]:
        changes["v2c_networks_v6"] = _list(p.ask(
            "From which IPv6 networks shall SNMP V1/V2c requests be allowed? Separate multiple networks "
            "with commas.", ", ".join(s.v2c_networks_v6), validate=lambda t: _networks_problem(t, 6)))
    versions = ("v2c", "v3")
    changes["trap_version"] = versions[p.choose("Choose the version for SNMP traps:", versions,
                                                versions.index(s.trap_version))]


def _trap_table(ctx, changes: dict, s) -> None:
    p = ctx.prompter
    enabled = set(s.enabled_traps)
    values = {"cpu_threshold": s.cpu_threshold, "memory_threshold": s.memory_threshold,
              "connectivity_url": s.connectivity_url}
    while True:
        _say_traps(ctx, enabled, values)
        if not p.yes_no("Do you want to change any of these settings?", False):
            break
        if p.yes_no("Do you want to disable any of these traps?", False):
            for t in _ask_numbers(p, "Enter number or numbers of traps to disable. Separate multiple numbers "
                                     "with commas."):
                enabled.discard(t)
        if p.yes_no("Do you want to enable any of these traps?", False):
            for t in _ask_numbers(p, "Enter number or numbers of traps to enable. Separate multiple numbers "
                                     "with commas."):
                enabled.add(t)
                if t == "CPUUtilizationExceeded":
                    values["cpu_threshold"] = p.ask_int("What threshold would you like to set for CPU utilization?",
                                                        values["cpu_threshold"], 1, 100)
                elif t == "memoryUtilizationExceeded":
                    values["memory_threshold"] = p.ask_int(
                        "What threshold would you like to set for memory utilization?", values["memory_threshold"],
                        1, 100)
                elif t == "connectivityFailure":
                    values["connectivity_url"] = p.ask("Please enter the URL to check for connectivity failure.",
                                                       values["connectivity_url"] or None, validate=_url_problem)
    changes["enabled_traps"] = tuple(t for t in SNMP_TRAPS if t in enabled)
    changes.update(values)


def _say_traps(ctx, enabled, values) -> None:
    ctx.say("Current Enterprise Trap Status:")
    for i, t in enumerate(SNMP_TRAPS, 1):
        extra = ""
        if t == "CPUUtilizationExceeded":
            extra = f" (threshold {values['cpu_threshold']}%)"
        elif t == "memoryUtilizationExceeded":
            extra = f" (threshold {values['memory_threshold']}%)"
        elif t == "connectivityFailure" and values["connectivity_url"]:
            extra = f" ({values['connectivity_url']})"
        hw = "  [hardware: never raised by a software gateway]" if t in HARDWARE_TRAPS else ""
        ctx.say(f"{i:>3}. {t:<28}{'Enabled' if t in enabled else 'Disabled'}{extra}{hw}")


def _ask_numbers(p, question: str) -> list[str]:
    def problem(text):
        try:
            _traps(text)
        except CommandError as e:
            return str(e)
        return None

    return _traps(p.ask(question, validate=problem))


def _passphrase_problem(text: str) -> str | None:
    return PASSPHRASE_TOO_SHORT if len(text) < SNMP_PASSPHRASE_MIN else None


def _ip_problem(text: str) -> str | None:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return f"{text!r} is not an IP address."
    return None


def _engine_problem(text: str) -> str | None:
    if text.lower() == "auto":
        return None
    try:
        check_engine_id(text)
    except ConfigError as e:
        return e.message
    return None


def _networks_problem(text: str, version: int) -> str | None:
    from asyncos_cli.config.schema import check_networks

    try:
        check_networks(_list(text), version, "networks")
    except ConfigError as e:
        return e.message
    return None


def _targets_problem(text: str) -> str | None:

    try:
        SnmpSection(trap_targets=_list(text))
    except ConfigError as e:
        return e.message
    return None


def _url_problem(text: str) -> str | None:
    import re

    return None if re.match(r"https?://\S+$", text) else "The URL must start with http:// or https://."


# ---------------------------------------------------------------- print


def show(ctx, reveal: bool = False) -> None:
    s = ctx.config.snmp

    def shown(which: str) -> str:
        if not reveal:
            return "(set)" if getattr(s, which) is not None else "(default)"
        return repr(s.community_text(ctx.keyring.reveal, which))

    ctx.say(_status(ctx))
    if not s.enabled:
        return
    ctx.say(f"Listening on: {s.listen} port {s.port}")
    auth = "" if s.v3_level == "noAuthNoPriv" else f", authentication {s.auth_protocol}"
    priv = f", privacy {s.priv_protocol}" if s.v3_level == "authPriv" else ""
    if s.v3_level == "authPriv" and s.priv_protocol in ("AES-192", "AES-256"):
        priv += (" with Reeder's key extension (as Cisco devices; net-snmp -x " + s.priv_protocol + "-C)"
                 if s.priv_key_extension == "reeder" else
                 " with Blumenthal's key extension (net-snmp -x " + s.priv_protocol + ")")
    ctx.say(f"SNMPv3: user {s.v3_user}, {s.v3_level}{auth}{priv}; passphrases "
            f"{'set' if s.auth_passphrase else 'not set'}")
    ctx.say(f"SNMP engine ID: {s.engine_id or 'derived from the serial number'}")
    if s.v2c_enabled:
        nets = []
        if s.v2c_ipv4:
            nets += s.v2c_networks_v4
        if s.v2c_ipv6:
            nets += s.v2c_networks_v6
        ctx.say(f"SNMP V1/V2c: enabled, community {shown('community')}, from {', '.join(nets) or 'nowhere'}")
    else:
        ctx.say("SNMP V1/V2c: disabled")
    ctx.say(f"Traps: {s.effective_trap_version} to {', '.join(s.trap_targets) or 'no target (traps off)'}"
            + (f", community {shown('trap_community')}" if s.effective_trap_version == "v2c" else ""))
    _say_traps(ctx, set(s.enabled_traps), {"cpu_threshold": s.cpu_threshold, "memory_threshold": s.memory_threshold,
                                           "connectivity_url": s.connectivity_url})
    ctx.say(f"System Location: {s.location or '(none)'}")
    ctx.say(f"System Contact: {s.contact or '(none)'}")
