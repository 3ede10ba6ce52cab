"""dlpconfig: the DLP Policy Manager: policies from predefined or custom classifiers, severities, actions.

Outgoing mail policies apply DLP policies with
``policyconfig edit outgoing POLICY --dlp=NAME[,NAME...]``.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import (
    DLP_ACTIONS,
    DLP_PREDEFINED,
    DLP_SEVERITIES,
    DLP_TEMPLATES,
    DlpClassifier,
    DlpPolicy,
)
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("dlpconfig", f"""
print
classifiers                      (the predefined classifiers: {', '.join(DLP_PREDEFINED)})
policy list | print NAME | delete NAME
policy new|edit NAME [--template=privacy-protection|pci-dss] [--classifier=KEY ...]
      [--severity-action=SEVERITY:ACTION ...] [FIELDS] [--thresholds=medium:N,high:N,critical:N]
classifier list | delete NAME
classifier new NAME [--entity=KEY ...] [--regex=RE] [--keyword=WORD ...]
""", names=lambda c: [x.name for x in (*c.dlp.policies, *c.dlp.classifiers)],
    fields=field_options(DlpPolicy, "min_confidence", "min_matches"),
    notes=f"SEVERITY: {', '.join(DLP_SEVERITIES)}   ACTION: {', '.join(DLP_ACTIONS)}")


@command("dlpconfig", "Configure DLP policies and classifiers.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub in ("print", "classifiers") and not rest:
        args.expect_done(f"dlpconfig {sub}")
        return _print(ctx) if sub == "print" else _predefined(ctx)
    if sub == "policy" and rest:
        return _policy(ctx, args, rest[0].lower(), rest[1:])
    if sub == "classifier" and rest:
        return _classifier(ctx, args, rest[0].lower(), rest[1:])
    raise UsageError()


def _listed(value) -> list[str]:
    return [v.strip() for v in ("" if value in (None, True) else str(value)).split(",") if v.strip()]


# ---------------------------------------------------------------- policies


POLICIES = ListEditor("DLP policy", "dlpconfig policy", lambda ctx: ctx.config.dlp.policies, lambda p: p.name,
                      stored_in=("dlp", "policies"))
CLASSIFIERS = ListEditor("classifier", "dlpconfig classifier", lambda ctx: ctx.config.dlp.classifiers,
                         lambda c: c.name, ignore_case=False, stored_in=("dlp", "classifiers"))


def _policy(ctx, args, op: str, rest: list[str]) -> None:
    if op == "list" and not rest:
        args.expect_done("dlpconfig policy list")
        return _list_policies(ctx)
    if op not in ("print", "delete", "new", "edit") or len(rest) != 1:
        raise UsageError()
    if op == "new":
        POLICIES.refuse_duplicate(ctx, rest[0])
        return _put_policy(ctx, args, None, rest[0])
    policy = POLICIES.find(ctx, rest[0])
    if op == "edit":
        return _put_policy(ctx, args, policy, policy.name)
    args.expect_done(f"dlpconfig policy {op}")
    return _print_policy(ctx, policy) if op == "print" else _delete_policy(ctx, policy)


def _users_of(ctx, policy: DlpPolicy) -> list[str]:
    return [m.name for m in ctx.config.mail_policies.outgoing if policy.name in m.dlp_policies]


def _list_policies(ctx) -> None:
    if not ctx.config.dlp.policies:
        ctx.say("No DLP policies are defined.")
    for p in ctx.config.dlp.policies:
        ctx.say(f"{p.name}: {', '.join(p.classifiers)} (used by: {', '.join(_users_of(ctx, p)) or 'no mail policy'})")


def _delete_policy(ctx, policy: DlpPolicy) -> None:
    users = _users_of(ctx, policy)
    if users:
        raise CommandError(f"The DLP policy {policy.name} is used by the outgoing mail policies "
                           f"{', '.join(users)}: remove it from them first.")
    POLICIES.put(ctx, policy, None)
    ctx.say(f"The DLP policy {policy.name} was deleted.")


def _put_policy(ctx, args, current: DlpPolicy | None, name: str) -> None:
    changes = _policy_changes(ctx, args)
    args.expect_done(f"dlpconfig policy {'edit' if current else 'new'}")
    if current is None and "classifiers" not in changes:
        raise CommandError("a new DLP policy needs --template=privacy-protection|pci-dss or --classifier=KEY")
    policy = DlpPolicy(name, **changes) if current is None else current.replace(**changes)
    POLICIES.put(ctx, current, policy)
    _print_policy(ctx, policy)


def _policy_changes(ctx, args) -> dict:
    changes = args.take_fields(GRAMMAR.fields)
    template = args.take_option("template")
    classifiers = _listed(args.take_option("classifier"))
    if template is not None:
        if str(template) not in DLP_TEMPLATES:
            raise CommandError(f"unknown template {template!r} (templates: {', '.join(DLP_TEMPLATES)})")
        changes["template"] = str(template)
        classifiers = list(DLP_TEMPLATES[str(template)]) + [c for c in classifiers
                                                             if c not in DLP_TEMPLATES[str(template)]]
    if classifiers:
        custom = {c.name for c in ctx.config.dlp.classifiers}
        unknown = [c for c in classifiers if c not in DLP_PREDEFINED and c not in custom]
        if unknown:
            raise CommandError(f"Unknown classifier {', '.join(unknown)}: predefined ones are "
                               f"{', '.join(DLP_PREDEFINED)}; custom ones come from 'dlpconfig classifier new'.")
        changes["classifiers"] = tuple(dict.fromkeys(classifiers))
    for item in _listed(args.take_option("severity-action")):
        severity, _, action = item.partition(":")
        if severity.lower() not in DLP_SEVERITIES or action.lower() not in DLP_ACTIONS:
            raise CommandError(f"--severity-action={item}: SEVERITY is one of {', '.join(DLP_SEVERITIES)} and "
                               f"ACTION one of {', '.join(DLP_ACTIONS)}")
        changes[f"action_{severity.lower()}"] = action.lower()
    for item in _listed(args.take_option("thresholds")):
        severity, _, value = item.partition(":")
        if severity.lower() not in ("medium", "high", "critical") or not value.isdigit():
            raise CommandError(f"--thresholds={item}: give medium:N, high:N and/or critical:N (risk factor 1-100)")
        changes[f"{severity.lower()}_from"] = int(value)
    return changes


def _print_policy(ctx, p: DlpPolicy) -> None:
    ctx.say(f"DLP policy {p.name}" + (f" (template {p.template})" if p.template else ""))
    ctx.say(f"  Classifiers: {', '.join(p.classifiers)}")
    ctx.say(f"  Matches counted from confidence {p.min_confidence}; at least {p.min_matches} for a violation")
    ctx.say(f"  Severity by risk factor: LOW below {p.medium_from}, MEDIUM from {p.medium_from}, HIGH from "
            f"{p.high_from}, CRITICAL from {p.critical_from}")
    ctx.say("  Actions: " + ", ".join(f"{s.upper()} {getattr(p, f'action_{s}')}" for s in DLP_SEVERITIES))


# ---------------------------------------------------------------- classifiers


def _classifier(ctx, args, op: str, rest: list[str]) -> None:
    if op == "list" and not rest:
        args.expect_done("dlpconfig classifier list")
        return _list_classifiers(ctx)
    if op == "new" and len(rest) == 1:
        return _new_classifier(ctx, args, rest[0])
    if op == "delete" and len(rest) == 1:
        args.expect_done("dlpconfig classifier delete")
        return _delete_classifier(ctx, CLASSIFIERS.find(ctx, rest[0]))
    raise UsageError()


def _list_classifiers(ctx) -> None:
    if not ctx.config.dlp.classifiers:
        ctx.say("No custom classifiers are defined.")
    for c in ctx.config.dlp.classifiers:
        rules = [*(f"entity {e}" for e in c.entities), *(f"regex {r}" for r in c.regexes)]
        words = f"; keywords: {', '.join(c.keywords)}" if c.keywords else ""
        ctx.say(f"{c.name}: {', '.join(rules)}{words}")


def _new_classifier(ctx, args, name: str) -> None:
    entities = tuple(_listed(args.take_option("entity")))
    regex = args.take_option("regex")
    regexes = (str(regex),) if regex not in (None, True, "") else ()
    keywords = tuple(_listed(args.take_option("keyword")))
    args.expect_done("dlpconfig classifier new")
    CLASSIFIERS.refuse_duplicate(ctx, name)
    c = DlpClassifier(name, entities, regexes, keywords)
    CLASSIFIERS.put(ctx, None, c)
    ctx.say(f"The classifier {c.name} was created.")


def _delete_classifier(ctx, c: DlpClassifier) -> None:
    users = [p.name for p in ctx.config.dlp.policies if c.name in p.classifiers]
    if users:
        raise CommandError(f"The classifier {c.name} is used by the DLP policies {', '.join(users)}.")
    CLASSIFIERS.put(ctx, c, None)
    ctx.say(f"The classifier {c.name} was deleted.")


def _predefined(ctx) -> None:
    from scanning.dlp.classifiers import NAMES

    for key in DLP_PREDEFINED:
        ctx.say(f"{key:<11} {NAMES[key]}")


def _print(ctx) -> None:
    section = ctx.config.dlp
    ctx.say(f"DLP policies: {len(section.policies)}; custom classifiers: {len(section.classifiers)}")
    for p in section.policies:
        _print_policy(ctx, p)


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        _print(ctx)
        op = p.menu([("NEW", "Add a DLP policy."), ("DELETE", "Remove a DLP policy."),
                     ("CLASSIFIERS", "List the predefined classifiers.")])
        if op is None:
            return
        try:
            if op == "CLASSIFIERS":
                _predefined(ctx)
            elif op == "DELETE":
                run(ctx, Args(["policy", "delete", p.ask("Enter the name of the DLP policy.")], {}))
            else:
                name = p.ask("Enter the name of the DLP policy.")
                choice = p.choose("Start from:", ["Privacy Protection template (the national ID classifiers)",
                                                  "PCI-DSS template (credit card numbers)", "Chosen classifiers"], 0)
                options = {"template": ("privacy-protection", "pci-dss")[choice]} if choice < 2 else {
                    "classifier": p.ask(f"Enter the classifiers, separated by commas "
                                        f"({', '.join(DLP_PREDEFINED)} or custom ones).")}
                actions = []
                for sev in DLP_SEVERITIES:
                    default = DlpPolicy.__dataclass_fields__[f"action_{sev}"].default
                    i = p.choose(f"Action for {sev.upper()} severity:", list(DLP_ACTIONS),
                                 DLP_ACTIONS.index(default))
                    actions.append(f"{sev}:{DLP_ACTIONS[i]}")
                options["severity-action"] = ",".join(actions)
                run(ctx, Args(["policy", "new", name], options))
        except CommandError as e:
            p.error(str(e))
