"""alertconfig: alert recipients (classes and severities), the From address, duplicate intervals, TLS.

The menu is the appliance's: NEW, EDIT, DELETE, CLEAR, FROM, SETUP, with
the recipients listed after "Sending alerts to:" (there is no PRINT on the
appliance; the batch form adds ``print`` for scripts).
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.addresses import address_problem as _address_problem
from asyncos_cli.config.schema import (
    ALERT_CLASSES,
    ALERT_SEVERITIES,
    AlertRecipient,
    AlertsSection,
)
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("alertconfig", """
print
new ADDRESS [--classes=all|CLASS,...] [--severities=all|SEVERITY,...]
edit ADDRESS [--classes=...] [--severities=...]
delete ADDRESS
clear
from ADDRESS|default
setup [--initial-interval=SECONDS] [--max-interval=SECONDS] [--max-saved=N] [--tls=yes|no]
      [--support-address=ADDRESS|none]
""", names=lambda c: [x.address for x in c.alerts.recipients],
    notes="""\
Classes: all or 1-9 / names (System, Hardware, Updater, Outbreak Filters, Anti-Virus, Anti-Spam,
Directory Harvest Attack Prevention, Release and Support Notifications). Severities: all or Critical,
Warning, Information.""")

#: The appliance's numbered lists: 1 is "All".
CLASS_MENU = ("All", *ALERT_CLASSES)
SEVERITY_MENU = ("All", *ALERT_SEVERITIES)


RECIPIENTS = ListEditor("alert recipient", "alertconfig", lambda ctx: ctx.config.alerts.recipients,
                        lambda r: r.address)
SETUP_FIELDS = field_options(AlertsSection, "initial_interval_seconds", "max_interval_seconds", "max_saved", "tls")


@command("alertconfig", "Configure email alerts.", roles=R.ADMIN_ONLY, grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.subcommand(), args.positional[1:]
    handler, arity = _BATCH.get(sub, (None, 0))
    if handler is None or len(rest) != arity:
        raise UsageError()
    handler(ctx, args, *rest)


def _batch_recipient(ctx, args, address: str, current=None) -> None:
    classes = args.take_option("classes")
    severities = args.take_option("severities")
    args.expect_done(f"alertconfig {'edit' if current else 'new'}")
    recipient = AlertRecipient(
        current.address if current else address,
        _pick(classes, CLASS_MENU, "class") if classes is not None else
        (current.classes if current else ALERT_CLASSES),
        _pick(severities, SEVERITY_MENU, "severity") if severities is not None else
        (current.severities if current else ALERT_SEVERITIES))
    _put(ctx, recipient, replace=current.address if current else None)


def _batch_delete(ctx, args, address: str) -> None:
    args.expect_done("alertconfig delete")
    _remove(ctx, RECIPIENTS.find(ctx, address))


def _remove(ctx, target: AlertRecipient) -> None:
    ctx.replace_section("alerts", recipients=tuple(r for r in ctx.config.alerts.recipients if r is not target))
    ctx.say(f"{target.address} will no longer receive alerts.")


def _batch_clear(ctx, args) -> None:
    args.expect_done("alertconfig clear")
    ctx.replace_section("alerts", recipients=())
    ctx.say("All alert recipients removed.")


def _batch_from(ctx, args, address: str) -> None:
    args.expect_done("alertconfig from")
    ctx.replace_section("alerts", from_address="" if address.lower() == "default" else address)
    ctx.say(f"Alerts will be sent from {ctx.config.alerts.sender(ctx.config.system.hostname)}.")


def _batch_setup(ctx, args) -> None:
    changes = args.take_fields(SETUP_FIELDS)
    support = args.take_option("support-address")
    args.expect_done("alertconfig setup")
    if support is not None:
        changes["support_address"] = "" if str(support).lower() in ("none", "true") else str(support)
    if not changes:
        raise UsageError()
    ctx.replace_section("alerts", **changes)
    show(ctx)


#: Batch subcommands: (handler, the number of arguments after the subcommand).
_BATCH = {"new": (_batch_recipient, 1),
          "edit": (lambda ctx, args, address: _batch_recipient(ctx, args, address, RECIPIENTS.find(ctx, address)), 1),
          "delete": (_batch_delete, 1), "clear": (_batch_clear, 0), "from": (_batch_from, 1),
          "setup": (_batch_setup, 0)}


def _pick(value, menu, what: str) -> tuple[str, ...]:
    """'all', numbers of the menu, or names; 'All' (1) means every entry."""
    text = "" if value is True else str(value)
    chosen: list[str] = []
    for item in (v.strip() for v in text.split(",") if v.strip()):
        if item.isdigit() and 1 <= int(item) <= len(menu):
            name = menu[int(item) - 1]
        else:
            match = [m for m in menu if m.lower() == item.lower()]
            if not match:
                raise CommandError(f"unknown alert {what} {item!r}; choose from: {', '.join(menu)}")
            name = match[0]
        if name == "All":
            return tuple(menu[1:])
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise CommandError(f"choose at least one alert {what}")
    return tuple(m for m in menu[1:] if m in chosen)


def _put(ctx, recipient: AlertRecipient, replace: str | None) -> None:
    recipients = ctx.config.alerts.recipients
    if replace is None:
        if any(r.address.lower() == recipient.address.lower() for r in recipients):
            raise CommandError(f"{recipient.address} already receives alerts: use edit.")
        recipients = (*recipients, recipient)
    else:
        recipients = tuple(recipient if r.address.lower() == replace.lower() else r for r in recipients)
    ctx.replace_section("alerts", recipients=recipients)
    ctx.say(f"{recipient.address}: {_describe(recipient)}")


def _describe(r: AlertRecipient) -> str:
    classes = "All classes" if set(r.classes) == set(ALERT_CLASSES) else ", ".join(r.classes)
    severities = "All severities" if set(r.severities) == set(ALERT_SEVERITIES) else \
        ", ".join(r.severities) or "no severity"
    return f"{classes} ({severities})"


# ---------------------------------------------------------------- interactive


def _status_text(ctx) -> str:
    a = ctx.config.alerts
    lines = ["Sending alerts to:"]
    lines += [f"    {r.address}\n        Class: {_describe(r)}" for r in a.recipients] or ["    (nobody)"]
    lines.append(f"\nInitial number of seconds to wait before sending a duplicate alert: {a.initial_interval_seconds}")
    lines.append(f"Maximum number of seconds to wait before sending a duplicate alert: {a.max_interval_seconds}")
    lines.append(f"Maximum number of alerts to save: {a.max_saved}")
    lines.append(f"Alerts are sent from: {a.sender(ctx.config.system.hostname)}")
    lines.append(f"TLS support to send alert messages: {'enabled (STARTTLS required)' if a.tls else 'disabled'}")
    if a.support_address:
        lines.append(f"Support requests go to: {a.support_address}")
    return "\n".join(lines)


def show(ctx) -> None:
    ctx.say(_status_text(ctx))


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        ops = [("NEW", "Add a new email address to send alerts."),
               ("EDIT", "Modify an email address."),
               ("DELETE", "Remove an email address.")]
        if ctx.config.alerts.recipients:
            ops.append(("CLEAR", "Remove all email addresses (disable alerts)."))
        ops += [("FROM", "Configure the From: Address of alert emails."),
                ("SETUP", "Configure alert settings.")]
        choice = p.menu(ops, status=_status_text(ctx))
        if choice is None:
            return
        try:
            {"NEW": _new, "EDIT": _edit, "DELETE": _delete, "CLEAR": _clear, "FROM": _from, "SETUP": _setup}[choice](ctx)
        except CommandError as e:
            p.error(str(e))



def _ask_list(ctx, question: str, menu, default: str, what: str, with_none: bool = False) -> tuple[str, ...]:
    p = ctx.prompter
    options = (*menu, "None") if with_none else menu

    def problem(text):
        items = [v.strip().lower() for v in text.split(",")]
        if with_none and "none" in items or "5" in items and with_none:
            if len(items) > 1:
                return "You cannot pick None together with other severities."
            return None
        try:
            _pick(text, menu, what)
        except CommandError as e:
            return str(e)
        return None

    p.say(question)
    for i, name in enumerate(options, 1):
        p.say(f"{i}. {name}")
    answer = p.ask("Enter a comma-separated list of numbers.", default, validate=problem)
    items = [v.strip().lower() for v in answer.split(",")]
    if with_none and (items == ["none"] or items == [str(len(options))]):
        return ()
    return _pick(answer, menu, what)


def _new(ctx) -> None:
    p = ctx.prompter
    address = p.ask("Please enter a new email address to send alerts.", validate=_address_problem)
    classes = _ask_list(ctx, "Choose the Alert Classes:", CLASS_MENU, "1", "class")
    severities = _ask_list(ctx, "Select a Severity Level:", SEVERITY_MENU, "1", "severity")
    _put(ctx, AlertRecipient(address, classes, severities), replace=None)


def _choose_recipient(ctx) -> AlertRecipient:
    recipients = ctx.config.alerts.recipients
    if not recipients:
        raise CommandError("There are no alert recipients.")
    i = ctx.prompter.choose("Choose the email address you want to edit.", [r.address for r in recipients])
    return recipients[i]


def _numbers(chosen, menu) -> str:
    """The current choice as the menu's numbers: Enter keeps it (1, All, when it holds every entry)."""
    if not chosen:
        return str(len(menu) + 1)  # None, the entry after the menu
    if set(chosen) == set(menu[1:]):
        return "1"
    return ",".join(str(menu.index(c) + 1) for c in chosen if c in menu)


def _edit(ctx) -> None:
    current = _choose_recipient(ctx)
    classes = _ask_list(ctx, "Choose the Alert Classes:", CLASS_MENU, _numbers(current.classes, CLASS_MENU), "class")
    severities = _ask_list(ctx, "Select a Severity Level:", SEVERITY_MENU,
                           _numbers(current.severities, SEVERITY_MENU), "severity", with_none=True)
    _put(ctx, AlertRecipient(current.address, classes, severities), replace=current.address)


def _delete(ctx) -> None:
    _remove(ctx, _choose_recipient(ctx))


def _clear(ctx) -> None:
    if ctx.prompter.yes_no("Are you sure you want to remove all alert recipients?", False):
        ctx.replace_section("alerts", recipients=())


def _from(ctx) -> None:
    p = ctx.prompter
    a = ctx.config.alerts
    choice = p.menu([("EDIT", "Edit the From: address."), ("DEFAULT", "Use the default From: address.")],
                    status=f"Alerts are sent from: {a.sender(ctx.config.system.hostname)}")
    if choice == "EDIT":
        ctx.replace_section("alerts", from_address=p.ask("Please enter the From: address to use for alerts.",
                                                         a.from_address or None, validate=_address_problem))
    elif choice == "DEFAULT":
        ctx.replace_section("alerts", from_address="")


def _setup(ctx) -> None:
    p = ctx.prompter
    a = ctx.config.alerts
    initial = p.ask_setting("Initial number of seconds to wait before sending a duplicate alert. Enter a value "
                            "of 0 to disable duplicate alert summaries.", AlertsSection, "initial_interval_seconds",
                            a.initial_interval_seconds)
    while True:
        maximum = p.ask_setting("Maximum number of seconds to wait before sending a duplicate alert.", AlertsSection,
                                "max_interval_seconds", max(a.max_interval_seconds, initial))
        if maximum >= initial:
            break
        p.error("The debounce interval cannot be less than the initial interval.")
    saved = p.ask_setting("Maximum number of alerts to save.", AlertsSection, "max_saved", a.max_saved)
    tls = p.yes_no("Do you want to enable TLS support to send alert messages?", a.tls)
    ctx.replace_section("alerts", initial_interval_seconds=initial, max_interval_seconds=maximum, max_saved=saved,
                        tls=tls)
