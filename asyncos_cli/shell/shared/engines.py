"""What antivirusconfig, antispamconfig and ampconfig share: setup options, per-policy actions, the wizard."""

from __future__ import annotations

import re

from asyncos_cli.config.engines import (
    UNAVAILABLE_ACTIONS,
    VERDICT_ACTIONS,
    VerdictAction,
)
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.shell.prompter import CommandError

#: The options every engine's setup takes: (option, field, type).
UNAVAILABLE_OPTIONS = (("unavailable", "unavailable_action", str),
                       ("unavailable-quarantine", "unavailable_quarantine", str),
                       ("retry", "retry_seconds", int))

_SIZE = re.compile(r"(\d+)\s*([kKmMgG]?)[bB]?")


def parse_size(text: str, option: str) -> int:
    """'10M', '2048K', '1048576' -> bytes (the appliance's size notation)."""
    m = _SIZE.fullmatch(str(text).strip())
    if m is None:
        raise CommandError(f"--{option} takes a size such as 1048576, 2048K or 10M, got {text!r}")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[m.group(2).lower()]


def size_text(n: int) -> str:
    for unit, factor in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if n % factor == 0:
            return f"{n // factor}{unit}"
    return str(n)


def take_size(args, option: str, field_name: str, changes: dict) -> None:
    if option in args.options:
        changes[field_name] = parse_size(args.take_option(option), option)


def scanner_setup(endpoint_option: str):
    """The batch setup of a scanning engine (clamd, Rspamd): where it is, its timeout, size limit, outage action."""

    def setup(ctx, args) -> dict:
        changes = args.take_typed((("enabled", "enabled", bool), (endpoint_option, endpoint_option, str),
                                   ("timeout", "timeout_seconds", float), *UNAVAILABLE_OPTIONS))
        take_size(args, "max-size", "max_scan_bytes", changes)
        return changes

    return setup


def policy_change(ctx, args, command: str, field_name: str, verdicts, extra=()) -> None:
    """``COMMAND policy incoming|outgoing NAME --VERDICT=ACTION --VERDICT-tag=... ...``: one policy's actions."""
    rest = args.positional[1:]
    if len(rest) != 2 or rest[0].lower() not in ("incoming", "outgoing"):
        raise CommandError(f"Usage: {command} policy incoming|outgoing NAME [options] ('{command}' shows them)")
    direction, name = rest[0].lower(), rest[1]
    section = ctx.config.mail_policies
    policies = list(getattr(section, direction))
    index = next((i for i, p in enumerate(policies) if p.name.lower() == name.lower()), None)
    if index is None:
        raise CommandError(f"No {direction} mail policy named {name} ('policyconfig print' shows them).")
    current = getattr(policies[index], field_name)
    changes = args.take_typed(extra)
    for verdict in verdicts:
        edits = _verdict_edits(args, verdict)
        if edits:
            changes[verdict] = _edited_action(ctx, getattr(current, verdict), verdict, edits)
    args.expect_done(f"{command} policy")
    if not changes:
        raise CommandError(f"Nothing to change: give an action, e.g. --{verdicts[0]}={VERDICT_ACTIONS[1]}")
    try:
        policies[index] = policies[index].replace(**{field_name: current.replace(**changes)})
        ctx.stage(section.replace(**{direction: tuple(policies)}))
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _verdict_edits(args, verdict: str) -> dict:
    """The changes ``--VERDICT``, ``--VERDICT-quarantine``, ``-tag``, ``-header`` and ``-notify`` ask for."""
    edits = {}
    if verdict in args.options:
        edits["action"] = str(args.take_option(verdict)).lower()
    for suffix, key in (("quarantine", "quarantine"), ("tag", "subject_tag"), ("header", "header")):
        value = args.take_option(f"{verdict}-{suffix}")
        if value is not None:
            edits[key] = "" if value is True or str(value).lower() == "none" else str(value)
    notify = args.take_option(f"{verdict}-notify")
    if notify is not None:
        edits["notify"] = () if str(notify).lower() in ("none", "") else tuple(
            n.strip() for n in str(notify).split(",") if n.strip())
    return edits


def _edited_action(ctx, act: VerdictAction, verdict: str, edits: dict) -> VerdictAction:
    quarantine = edits.get("quarantine")
    if quarantine and ctx.config.quarantines.get(quarantine) is None:
        raise CommandError(f"No quarantine named {quarantine} ('quarantineconfig' lists them).")
    try:
        return act.replace(**edits)
    except ConfigError as e:
        raise CommandError(f"--{verdict}: {e}") from None


def print_policies(ctx, field_name: str, verdicts, head=None) -> None:
    for direction in ("incoming", "outgoing"):
        for p in getattr(ctx.config.mail_policies, direction):
            switch = {"antivirus_actions": p.antivirus, "antispam_actions": p.antispam,
                      "file_reputation_actions": p.file_reputation}[field_name]
            actions = getattr(p, field_name)
            ctx.say(f"  {direction} policy {p.name}: {'on' if switch else 'off (policyconfig)'}"
                    + (f"; {head(actions)}" if head else ""))
            for verdict in verdicts:
                ctx.say(f"    {verdict:<12} {getattr(actions, verdict).describe()}")


def print_unavailable(ctx, section) -> None:
    action = section.unavailable_action
    detail = {"quarantine": f" to {section.unavailable_quarantine}",
              "defer": f" (kept in the queue, scanned again every {section.retry_seconds} s)"}.get(action, "")
    ctx.say(f"When the engine is unavailable: {action}{detail}")


def setup_wizard(ctx, section_name: str, questions) -> None:
    """The SETUP wizard: ``questions`` are (field, question, kind) with kind "bool", "text", "size", "number",
    or a tuple of choices; the section validates the answers, a refused one is asked again."""
    p = ctx.prompter
    section = ctx.config[section_name]
    changes: dict = {}
    for field_name, question, kind in questions:
        if field_name != "enabled" and not changes.get("enabled", section.enabled):
            break
        current = getattr(section, field_name)
        while True:
            if kind == "bool":
                value = p.yes_no(question, current)
            elif isinstance(kind, tuple):
                value = kind[p.choose(question, kind, kind.index(current))]
            elif kind == "size":
                text = p.ask(question, size_text(current))
                try:
                    value = parse_size(text, field_name)
                except CommandError as e:
                    p.error(str(e))
                    continue
            elif kind == "number":
                try:
                    value = type(current)(p.ask(question, f"{current:g}" if isinstance(current, float) else
                                                str(current)))
                except ValueError:
                    p.error("Please enter a number.")
                    continue
            else:
                value = p.ask(question, current)
            try:
                section.replace(**{**changes, field_name: value})
            except ConfigError as e:
                p.error(str(e))
                continue
            changes[field_name] = value
            break
    ctx.replace_section(section_name, **changes)


def unavailable_questions():
    return (("unavailable_action", "When the engine cannot be reached, what should happen to messages?",
             UNAVAILABLE_ACTIONS),)


class EngineCommand:
    """One engine's command: print, setup (batch), policy, test, and the SETUP/TEST menu on a terminal."""

    def __init__(self, name: str, section: str, usage: str, actions_field: str, verdicts, setup, show, questions,
                 test=None, policy_extra=()):
        self.name, self.section, self.usage = name, section, usage
        self.actions_field, self.verdicts, self.policy_extra = actions_field, verdicts, policy_extra
        self.setup, self.show, self.questions, self.test = setup, show, questions, test

    def run(self, ctx, args) -> None:
        sub = args.subcommand()
        alone = len(args.positional) == 1
        if sub is None:
            args.expect_done(self.name)
            if ctx.batch:
                raise CommandError(self.usage)
            self.show(ctx)
            return self._menu(ctx)
        if sub == "print" and alone:
            args.expect_done(f"{self.name} print")
            return self.show(ctx)
        if sub == "setup" and alone:
            changes = self.setup(ctx, args)
            args.expect_done(f"{self.name} setup")
            if not changes:
                raise CommandError(self.usage)
            name = changes.get("unavailable_quarantine")
            if name and ctx.config.quarantines.get(name) is None:
                raise CommandError(f"No quarantine named {name} ('quarantineconfig' lists them).")
            ctx.replace_section(self.section, **changes)
            return self.show(ctx)
        if sub == "policy":
            policy_change(ctx, args, self.name, self.actions_field, self.verdicts, self.policy_extra)
            return self.show(ctx)
        if sub == "test" and alone and self.test is not None:
            args.expect_done(f"{self.name} test")
            return self.test(ctx)
        raise CommandError(self.usage)

    def _menu(self, ctx) -> None:
        operations = [("SETUP", f"Configure {ctx.config[self.section].title.lower()}.")]
        if self.test is not None:
            operations.append(("TEST", "Check that the engine answers."))
        while True:
            choice = ctx.prompter.menu(operations)
            if choice is None:
                return
            if choice == "SETUP":
                setup_wizard(ctx, self.section, self.questions)
                self.show(ctx)
            else:
                try:
                    self.test(ctx)
                except CommandError as e:
                    ctx.prompter.error(str(e))
