"""rollbackconfig: list versions, compare two, or roll back to one (pending until commit)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command, lookup

GRAMMAR = Grammar("rollbackconfig", """
list | print
diff V1 [V2]
rollback V
""")


@command("rollbackconfig", "Roll back to a previously committed configuration.",
         roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("rollbackconfig")
    sub, rest = args.split()
    if sub in ("list", "print") and not rest:
        return _list(ctx)
    if sub == "diff" and 1 <= len(rest) <= 2:
        return _diff(ctx, *(_number(v) for v in rest))
    if sub == "rollback" and len(rest) == 1:
        return _rollback(ctx, _number(rest[0]))
    if sub.isdigit() and not rest:
        return _rollback(ctx, int(sub))
    raise UsageError()


def _number(text: str) -> int:
    if not text.isdigit():
        raise CommandError(f"{text!r} is not a version number ('rollbackconfig list' shows them)")
    return int(text)


def _list(ctx) -> None:
    versions = ctx.store.versions()
    head = versions[-1].id if versions else 0
    lines = [f"{'Version':>7}  {'Committed':<24}  {'User':<12}  Comment", "-" * 70]
    for v in versions:
        mark = " (current)" if v.id == head else ("" if v.rollback else " (not kept for rollback)")
        lines.append(f"{v.id:>7}  {v.when():<24}  {v.user:<12}  {v.comment}{mark}")
    ctx.prompter.page("\n".join(lines))


def _snapshot(ctx, vid: int):
    try:
        return ctx.store.snapshot(vid)
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _diff(ctx, v1: int, v2: int | None = None) -> None:
    from asyncos_cli.config.diff import diff, render

    a = _snapshot(ctx, v1)
    b = _snapshot(ctx, v2 if v2 is not None else ctx.store.head_id())
    ctx.say(f"Differences from version {a.version.id} to version {b.version.id}:")
    ctx.prompter.page(render(diff(a.config, b.config)))


def _rollback(ctx, vid: int) -> list[str]:
    target = _snapshot(ctx, vid)
    if not target.version.rollback:
        raise CommandError(f"Version {vid} was not saved for rollback.")
    changed = ctx.session.stage_config(target.config)
    if not changed:
        ctx.say(f"Version {vid} is the same as the current configuration: nothing to roll back.")
    else:
        ctx.say(f"The configuration of version {vid} is pending ({', '.join(changed)}); "
                "use commit to make it active.")
    others = getattr(ctx.store, "own_rows_changed_since", None)
    if others is not None and (since := others(vid)):
        ctx.say(f"Settings of groups and machines of their own are not rolled back; changed since version {vid}: "
                f"{', '.join(since)} (clusterset moves them).")
    return changed


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        op = p.menu(
            [
                ("ROLLBACK", "Roll back to a previously committed configuration."),
                ("LIST", "List the committed configurations."),
                ("DIFF", "Show the differences between two configurations."),
            ]
        )
        if op is None:
            return
        if op == "LIST":
            _list(ctx)
        elif op == "DIFF":
            v1 = p.ask_int("Enter the first version number:", None, 1, ctx.store.head_id())
            v2 = p.ask_int("Enter the second version number:", ctx.store.head_id(), 1, ctx.store.head_id())
            _diff(ctx, v1, v2)
        elif op == "ROLLBACK":
            _list(ctx)
            vid = p.ask_int("Enter the number of the configuration to revert to:", None, 1, ctx.store.head_id())
            if not p.yes_no(f"Are you sure you want to roll back the configuration to version {vid}?", False):
                continue
            if _rollback(ctx, vid) and p.yes_no("Do you want to commit this configuration now?", False):
                lookup("commit").run(ctx, Args())
                return
