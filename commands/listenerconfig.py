"""listenerconfig: SMTP listeners and their recipient access tables."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import Listener, MailFlowPolicy
from asyncos_cli.config.validators import ip_problem
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

LISTENER_FIELDS = field_options(Listener, "interface", "port", "starttls", "max_message_bytes", "max_recipients",
                                "max_connections", "idle_timeout_seconds", "max_header_count", "max_header_bytes",
                                "enabled", "certificate", "bounce_profile", "use_aliases", "smtp_auth_profile")
POLICY_FIELDS = field_options(MailFlowPolicy, "action", "max_message_bytes", "max_recipients",
                              "max_messages_per_hour", "max_connections_per_ip", "tls", "sdr_check", "smtp_auth",
                              "dkim_verify", "spf", "spf_conformance", "spf_downgrade_pra", "spf_reject",
                              "spf_helo_check", "spf_helo_reject", "spf_mailfrom_reject", "spf_pra_reject",
                              "spf_reject_code", "spf_reject_text", "spf_publisher_text", "spf_defer_code",
                              "spf_defer_text", "spf_timeout", "dmarc_verify", "dkim_profile",
                              "dmarc_profile")

GRAMMAR = Grammar("listenerconfig", """
print
new NAME [--kind=public|private] [LISTENER]
edit NAME [LISTENER]
edit NAME rcptaccess add DOMAIN | delete DOMAIN | print
delete NAME
[edit LISTENER] hostaccess print
hostaccess add GROUP SENDER      (IP, CIDR, host name, .domain or ALL)
hostaccess delete GROUP SENDER
hostaccess policy NAME [POLICY]
""", fields={"LISTENER": LISTENER_FIELDS, "POLICY": POLICY_FIELDS}, aliases=("sdr-check",),
    notes="NAME: a listener's name or its number in 'listenerconfig print'. --certificate: a certconfig name "
          "(empty: the demonstration certificate).",
    names=lambda c: [x.name for x in c.listeners.listeners])

EDITOR = ListEditor("listener", "listenerconfig", lambda ctx: ctx.config.listeners.listeners, lambda l: l.name,
                    heading="Currently configured listeners:", line=lambda l: _describe(l))


@command("listenerconfig", "Configure mail listeners.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.subcommand(), args.positional[1:]
    if sub == "edit" and len(rest) >= 2 and rest[1].lower() in ("rcptaccess", "hostaccess"):
        sub, rest = rest[1].lower(), [rest[0], *rest[2:]] if rest[1].lower() == "rcptaccess" else rest[2:]
    handler = {"new": _batch_new, "edit": _batch_edit, "delete": _batch_delete, "rcptaccess": _batch_rcptaccess,
               "hostaccess": _hostaccess}.get(sub)
    if handler is None:
        raise UsageError()
    handler(ctx, args, rest)


def _batch_new(ctx, args, rest) -> None:
    changes = args.take_fields(LISTENER_FIELDS)
    kind = args.take_option("kind", "public")
    args.expect_done("listenerconfig new")
    if len(rest) != 1:
        raise UsageError()
    _new(ctx, rest[0], str(kind), changes)


def _batch_edit(ctx, args, rest) -> None:
    listener = EDITOR.find(ctx, rest[0]) if rest else None
    changes = args.take_fields(LISTENER_FIELDS)
    args.expect_done("listenerconfig edit")
    if listener is None or not changes or len(rest) != 1:
        raise UsageError()
    _replace(ctx, listener, listener_replace(listener, changes))


def _batch_delete(ctx, args, rest) -> None:
    args.expect_done("listenerconfig delete")
    if len(rest) != 1:
        raise UsageError()
    _delete(ctx, EDITOR.find(ctx, rest[0]))


def _batch_rcptaccess(ctx, args, rest) -> None:
    args.expect_done("listenerconfig edit rcptaccess")
    _rcptaccess(ctx, EDITOR.find(ctx, rest[0]), rest[1:])


def _listeners(ctx):
    return ctx.config.listeners.listeners


def listener_replace(listener: Listener, changes: dict) -> Listener:
    try:
        return listener.replace(**changes)
    except ConfigError as e:
        raise CommandError(f"Listener {listener.name}: {e}") from None


def _stage(ctx, listeners) -> None:
    listeners = [_canonical_profile(ctx, listener) for listener in listeners]
    for listener in listeners:
        if ip_problem(listener.interface) and ctx.config.interfaces.get(listener.interface) is None:
            raise CommandError(f"There is no interface named {listener.interface} ('interfaceconfig print' "
                               "lists them).")
        if listener.certificate and ctx.config.certificates.get(listener.certificate) is None:
            raise CommandError(f"There is no certificate named {listener.certificate} ('certconfig print' "
                               "lists them).")
        auth = ctx.config.smtp_auth.get(listener.smtp_auth_profile) if listener.smtp_auth_profile else None
        if listener.smtp_auth_profile and (auth is None or auth.kind != "accounts"):
            raise CommandError(f"There is no SMTP AUTH profile named {listener.smtp_auth_profile} that checks the "
                               "gateway's accounts ('smtpauthconfig print' lists them).")
        if ctx.config.bounces.get(listener.bounce_profile) is None:
            raise CommandError(f"There is no bounce profile named {listener.bounce_profile} ('bounceconfig print' "
                               "lists them).")
    try:
        ctx.stage(ctx.config.listeners.replace(listeners=tuple(listeners)))
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _replace(ctx, old: Listener, new: Listener) -> None:
    _stage(ctx, [new if l.name == old.name else l for l in _listeners(ctx)])
    ctx.say(f"Listener {new.name} changed; commit to apply.")


def _new(ctx, name: str, kind: str, changes: dict) -> None:
    EDITOR.refuse_duplicate(ctx, name)
    try:
        listener = Listener(name, kind, **changes)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    _stage(ctx, [*_listeners(ctx), listener])
    ctx.say(f"Listener {name} created; commit to apply.")


def _delete(ctx, listener: Listener) -> None:
    _stage(ctx, [l for l in _listeners(ctx) if l.name != listener.name])
    ctx.say(f"Listener {listener.name} deleted; commit to apply.")


def _rcptaccess(ctx, listener: Listener, rest: list[str]) -> None:
    op = rest[0].lower() if rest else "print"
    if op == "print" and len(rest) <= 1:
        for d in listener.rcpt_access:
            ctx.say(f"{d} ACCEPT")
        if not listener.rcpt_access:
            ctx.say("The recipient access table is empty: this listener accepts no recipients.")
        return
    if op not in ("add", "new", "delete") or len(rest) != 2:
        raise UsageError()
    domain, table = rest[1], listener.rcpt_access
    if op == "delete":
        if domain not in table:
            raise CommandError(f"{domain} is not in the recipient access table.")
        return _replace(ctx, listener, listener_replace(listener, {"rcpt_access": tuple(d for d in table if d != domain)}))
    if listener.kind != "public":
        raise CommandError("Only public listeners have a recipient access table.")
    if domain in table:
        raise CommandError(f"{domain} is already in the recipient access table.")
    _replace(ctx, listener, listener_replace(listener, {"rcpt_access": (*table, domain)}))


# ---------------------------------------------------------------- host access table (shared by the listeners)

GROUPS = ListEditor("sender group", "listenerconfig hostaccess", lambda ctx: ctx.config.hat.sender_groups,
                    lambda g: g.name)
POLICIES = ListEditor("mail flow policy", "listenerconfig hostaccess", lambda ctx: ctx.config.hat.policies,
                      lambda p: p.name)


def _hostaccess(ctx, args, rest: list[str]) -> None:
    op = rest[0].lower() if rest else "print"
    if op == "print" and len(rest) <= 1:
        args.expect_done("listenerconfig hostaccess print")
        return _print_hat(ctx)
    if op in ("add", "delete") and len(rest) == 3:
        args.expect_done(f"listenerconfig hostaccess {op}")
        return _edit_group(ctx, GROUPS.find(ctx, rest[1]), rest[2], add=op == "add")
    if op == "policy" and len(rest) == 2:
        policy = POLICIES.find(ctx, rest[1])
        if "sdr-check" in args.options:  # the earlier spelling of --sdr
            args.options.setdefault("sdr", args.options.pop("sdr-check"))
        changes = args.take_fields(POLICY_FIELDS)
        args.expect_done("listenerconfig hostaccess policy")
        if not changes:
            raise UsageError()
        return _edit_policy(ctx, policy, changes)
    raise UsageError()


def _edit_group(ctx, group, sender: str, add: bool) -> None:
    hat = ctx.config.hat
    if add and sender in group.senders:
        raise CommandError(f"{sender} is already in {group.name}.")
    if not add and sender not in group.senders:
        raise CommandError(f"{sender} is not in {group.name}.")
    senders = (*group.senders, sender) if add else tuple(x for x in group.senders if x != sender)
    try:
        new_group = group.replace(senders=senders)
        ctx.stage(hat.replace(sender_groups=tuple(new_group if g is group else g for g in hat.sender_groups)))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.say(f"Sender group {group.name}: {', '.join(senders) or '(empty)'}; commit to apply.")


def _edit_policy(ctx, policy, changes: dict) -> None:
    hat = ctx.config.hat
    for field, profiles, what, lister in (("dkim_profile", ctx.config.domainkeys.verification, "DKIM",
                                           "domainkeysconfig"),
                                          ("dmarc_profile", ctx.config.dmarc.profiles, "DMARC", "dmarcconfig")):
        name = changes.get(field)
        if name is not None:
            found = next((p for p in profiles if p.name.lower() == name.lower()), None)
            if found is None:
                raise CommandError(f"There is no {what} verification profile named {name} ('{lister} print' "
                                   "lists them).")
            changes[field] = found.name
    try:
        new = policy.replace(**changes)
        ctx.stage(hat.replace(policies=tuple(new if p is policy else p for p in hat.policies)))
    except ConfigError as e:
        raise CommandError(f"Policy {policy.name}: {e}") from None
    ctx.say(f"Mail flow policy {new.name} changed; commit to apply.")


def _print_hat(ctx) -> None:
    hat = ctx.config.hat
    ctx.say("Sender groups (first match wins):")
    for g in hat.sender_groups:
        ctx.say(f"  {g.name:<14} {g.listener_kind:<8} policy {g.policy:<10} {', '.join(g.senders) or '(empty)'}")
    ctx.say("Mail flow policies:")
    for p in hat.policies:
        ctx.say(f"  {p.name:<10} {p.action:<9} size {p.max_message_bytes}, rcpts {p.max_recipients}, "
                f"msgs/hour {p.max_messages_per_hour or 'unlimited'}, conns/IP {p.max_connections_per_ip}, "
                f"TLS {p.tls}, SDR check {'on' if p.sdr_check else 'off'}, SMTP AUTH {p.smtp_auth}, "
                f"DKIM verification {f'on (profile {p.dkim_profile})' if p.dkim_verify else 'off'}, "
                f"SPF/SIDF {_spf_words(p)}, "
                f"DMARC verification {f'on (profile {p.dmarc_profile})' if p.dmarc_verify else 'off'}")
        for line in spf_settings(p) if p.spf == "on" else ():
            ctx.say(f"      {line}")


#: The appliance's conformance levels, in its menu's order and words.
SPF_LEVELS = {"spf": "SPF only", "sidf-compatible": "SIDF compatible", "sidf": "SIDF strict"}


#: The results an identity's SMTP actions answer, in the appliance's order and words.
SPF_RESULT_WORDS = {"none": "None", "neutral": "Neutral", "softfail": "SoftFail", "fail": "Fail",
                    "temperror": "TempError", "permerror": "PermError"}


def _identities(policy: MailFlowPolicy) -> list[tuple[str, str]]:
    """The identities the policy's conformance level checks: (key, the appliance's name)."""
    level = policy.spf_conformance
    helo = [("helo", "HELO")] if level != "sidf" and policy.spf_helo_check else []
    return helo + [("mailfrom", "MAIL FROM")] + ([("pra", "PRA")] if level != "spf" else [])


def spf_settings(policy: MailFlowPolicy) -> list[str]:
    """A policy's SPF/SIDF settings as the appliance lists them under a mail flow policy."""
    if policy.spf != "on":
        return ["SPF/SIDF Verification Enabled: No"]
    yes = lambda b: "Yes" if b else "No"  # noqa: E731
    lines = ["SPF/SIDF Verification Enabled: Yes", f"  Conformance Level: {SPF_LEVELS[policy.spf_conformance]}"]
    if policy.spf_conformance == "sidf-compatible":
        lines.append("  Downgrade PRA verification result if 'Resent-Sender:' or 'Resent-From:' were used: "
                     + yes(policy.spf_downgrade_pra))
    if policy.spf_conformance != "sidf":
        lines.append(f"  Do HELO test: {yes(policy.spf_helo_check)}")
    lines.append("  SMTP actions:")
    for key, name in _identities(policy):
        refused = policy.spf_refused(key)
        if not refused or refused == set(SPF_RESULT_WORDS):
            lines.append(f"    For {name} Identity: {'Reject' if refused else 'Accept'}")
            continue
        lines.append(f"    For {name} Identity:")
        for action, chosen in (("Accept", [r for r in SPF_RESULT_WORDS if r not in refused]),
                               ("Reject", [r for r in SPF_RESULT_WORDS if r in refused])):
            lines.append(f"      {', '.join(SPF_RESULT_WORDS[r] for r in chosen)}: {action}")
    lines += ["  SMTP Response Settings:", f"    Reject code: {policy.spf_reject_code}",
              f"    Reject text: {policy.spf_reject_text}",
              f"    Get reject response text from publisher: {yes(policy.spf_publisher_text)}",
              f"    Defer code: {policy.spf_defer_code}", f"    Defer text: {policy.spf_defer_text}",
              f"  Verification timeout: {policy.spf_timeout}"]
    return lines


def _spf_words(policy: MailFlowPolicy) -> str:
    if policy.spf != "on":
        return "off"
    return SPF_LEVELS[policy.spf_conformance] + (" (fails rejected)" if "fail" in policy.spf_refused("mailfrom")
                                                 else "") + (
        " (PRA downgraded on Resent-)" if policy.spf_downgrade_pra and policy.spf_conformance == "sidf-compatible"
        else "")


def _canonical_profile(ctx, listener: Listener) -> Listener:
    """The bounce and SMTP AUTH profiles as their commands spell them (names compare without case)."""
    bounce = ctx.config.bounces.get(listener.bounce_profile)
    auth = ctx.config.smtp_auth.get(listener.smtp_auth_profile) if listener.smtp_auth_profile else None
    return listener.replace(bounce_profile=bounce.name if bounce else listener.bounce_profile,
                            smtp_auth_profile=auth.name if auth else listener.smtp_auth_profile)


# ---------------------------------------------------------------- print and the wizard


def _describe(l: Listener) -> str:
    state = "" if l.enabled else " (disabled)"
    text = (f"{l.name} ({l.interface}) SMTP TCP Port {l.port} {l.kind.capitalize()}{state}\n"
            f"   STARTTLS {l.starttls} with the certificate {l.certificate or '(demonstration)'}; at most "
            f"{l.max_message_bytes} bytes and {l.max_recipients} recipients per message; {l.max_connections} "
            f"connections; idle timeout {l.idle_timeout_seconds} s; at most {l.max_header_count} header fields, "
            f"{l.max_header_bytes} header bytes; bounce profile {l.bounce_profile}"
            f"{'; alias table used' if l.use_aliases else ''}"
            f"{f'; SMTP AUTH profile {l.smtp_auth_profile}' if l.smtp_auth_profile else ''}")
    if l.kind == "public":
        text += f"\n   Recipient access: {', '.join(l.rcpt_access) or '(none)'}"
    return text


def show(ctx) -> None:
    EDITOR.print(ctx)


#: The SETUP questions of EDIT, each answered and checked by the listener field it sets.
SETUP_QUESTIONS = (
    ("interface", "Enter the name or IP address of the interface to listen on."),
    ("port", "Enter the TCP port for this listener."),
    ("starttls", "Choose the STARTTLS setting:"),
    ("max_message_bytes", "Enter the maximum message size in bytes."),
    ("max_connections", "Enter the maximum number of concurrent connections."),
    ("idle_timeout_seconds", "Enter the number of seconds a client may stay silent before it is disconnected."),
    ("max_header_count", "Enter the maximum number of header fields in a message."),
    ("max_header_bytes", "Enter the maximum size of a message header in bytes."),
)


def _wizard_new(ctx) -> None:
    p = ctx.prompter
    name = p.ask("Please create a name for this listener (Ex: \"InboundMail\"):")
    kind = ("public", "private")[p.choose("Choose a type of listener:", ["Public", "Private"], 0)]
    iface = p.ask_setting("Enter the name or IP address of the interface to listen on.", Listener, "interface",
                          ctx.config.interfaces.interfaces[0].name if ctx.config.interfaces.interfaces else "127.0.0.1")
    port = p.ask_setting("Enter the TCP port for this listener.", Listener, "port", 25)
    _new(ctx, name, kind, {"interface": iface, "port": port})


def _wizard_edit(ctx, listener: Listener) -> None:
    p = ctx.prompter
    sub = p.menu([("SETUP", "Change interface, port and limits."), ("RCPTACCESS", "Edit the recipient access table."),
                  ("HOSTACCESS", "Modify the Host Access Table.")])
    if sub == "SETUP":
        changes = {name: p.ask_setting(question, Listener, name, getattr(listener, name))
                   for name, question in SETUP_QUESTIONS}
        _replace(ctx, listener, listener_replace(listener, changes))
    elif sub == "RCPTACCESS":
        _rcptaccess(ctx, listener, ["print"])
        act = p.menu([("NEW", "Add a domain."), ("DELETE", "Remove a domain.")])
        if act:
            _rcptaccess(ctx, listener, ["add" if act == "NEW" else "delete", p.ask("Enter the domain.")])
    elif sub == "HOSTACCESS":
        _wizard_hostaccess(ctx)



def _wizard_hostaccess(ctx) -> None:
    """The mail flow policies of the Host Access Table (one table, shared by the listeners of a kind)."""
    _print_hat(ctx)
    p = ctx.prompter
    if p.menu([("EDIT", "Modify a mail flow policy.")]) != "EDIT":
        return
    names = [policy.name for policy in ctx.config.hat.policies]
    policy = ctx.config.hat.policies[p.choose("Choose the mail flow policy to edit:", names)]
    _edit_policy(ctx, policy, _ask_authentication(p, policy, [x.name for x in ctx.config.domainkeys.verification],
                                                  [x.name for x in ctx.config.dmarc.profiles]))


def _ask_authentication(p, policy: MailFlowPolicy, profiles: list[str], dmarc_profiles: list[str]) -> dict:
    """The appliance's SPF/SIDF questions, then DKIM and DMARC verification (and their profiles, when there are
    several)."""
    changes: dict = {}
    if p.yes_no("Would you like to change SPF/SIDF settings?", False):
        changes["spf"] = "on" if p.yes_no("Would you like to perform SPF/SIDF Verification?",
                                          policy.spf == "on") else "off"
        if changes["spf"] == "on":
            levels = list(SPF_LEVELS)
            level = levels[p.choose("What Conformance Level would you like to use?", list(SPF_LEVELS.values()),
                                    levels.index(policy.spf_conformance))]
            changes["spf_conformance"] = level
            if level == "sidf-compatible":
                changes["spf_downgrade_pra"] = p.yes_no(
                    "Would you like to downgrade PRA verification result if 'Resent-Sender:' or 'Resent-From:' "
                    "were used?", policy.spf_downgrade_pra)
            if level != "sidf":
                changes["spf_helo_check"] = p.yes_no("Would you like to have the HELO check performed?",
                                                     policy.spf_helo_check)
            changes.update(_ask_spf_actions(p, policy.replace(**changes)))
            changes["spf_timeout"] = p.ask_setting("Verification timeout (seconds)", MailFlowPolicy, "spf_timeout",
                                                   policy.spf_timeout)
    changes["dkim_verify"] = p.yes_no("Would you like to enable DKIM verification?", policy.dkim_verify)
    if changes["dkim_verify"] and len(profiles) > 1:
        current = profiles.index(policy.dkim_profile) if policy.dkim_profile in profiles else 0
        changes["dkim_profile"] = profiles[p.choose("Select the DKIM verification profile:", profiles, current)]
    changes["dmarc_verify"] = p.yes_no("Would you like to enable DMARC verification?", policy.dmarc_verify)
    if changes["dmarc_verify"] and len(dmarc_profiles) > 1:
        current = dmarc_profiles.index(policy.dmarc_profile) if policy.dmarc_profile in dmarc_profiles else 0
        changes["dmarc_profile"] = dmarc_profiles[p.choose("Select the DMARC verification profile:", dmarc_profiles,
                                                           current)]
    return changes


def _ask_spf_actions(p, policy: MailFlowPolicy) -> dict:
    """The appliance's SMTP actions for each identity the level checks, then its reply settings."""
    changes: dict = {}
    if not p.yes_no("Would you like to change SMTP actions taken as result of the SPF verification?", False):
        return changes
    # From here on each identity's list says what a Fail gets (--spf-reject's fail is written into them, the lists
    # of identities this level does not check included).
    changes["spf_reject"] = False
    refused_by = {key: policy.spf_refused(key) for key in ("helo", "mailfrom", "pra")}
    for key, name in _identities(policy):
        if p.yes_no(f"Would you like to change SMTP actions taken for the {name} identity?", False):
            refused_by[key] = frozenset(result for result, word in SPF_RESULT_WORDS.items() if p.choose(
                f"What SMTP action should be taken if {name} check returns {word}?", ["Accept", "Reject"],
                int(result in refused_by[key])) == 1)
    changes.update({f"spf_{key}_reject": ",".join(r for r in SPF_RESULT_WORDS if r in refused)
                    for key, refused in refused_by.items()})
    if p.yes_no("Would you like to change SMTP response settings for the REJECT action?", False):
        changes["spf_reject_code"] = p.ask_setting("Please enter the SMTP response code for the REJECT action.",
                                                   MailFlowPolicy, "spf_reject_code", policy.spf_reject_code)
        changes["spf_reject_text"] = p.ask_setting("Please enter the SMTP response text for the REJECT action.",
                                                   MailFlowPolicy, "spf_reject_text", policy.spf_reject_text)
        changes["spf_publisher_text"] = p.yes_no(
            "Would you like to use the SPF publisher's explanation as the response text for Neutral, SoftFail and "
            "Fail?", policy.spf_publisher_text)
    if p.yes_no("Would you like to change SMTP response settings for the TEMPFAIL action?", False):
        changes["spf_defer_code"] = p.ask_setting("Please enter the SMTP response code for the TEMPFAIL action.",
                                                  MailFlowPolicy, "spf_defer_code", policy.spf_defer_code)
        changes["spf_defer_text"] = p.ask_setting("Please enter the SMTP response text for the TEMPFAIL action.",
                                                  MailFlowPolicy, "spf_defer_text", policy.spf_defer_text)
    return changes


def _wizard_delete(ctx, listener: Listener) -> None:
    if ctx.prompter.yes_no(f"Are you sure you want to delete {listener.name}?", False):
        _delete(ctx, listener)


def wizard(ctx) -> None:
    EDITOR.menu(ctx, EDITOR.standard(_wizard_new, _wizard_edit, _wizard_delete))
