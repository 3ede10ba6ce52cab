"""The one list editor: NEW, EDIT, DELETE and PRINT over a collection, in the appliance's wording.

Every command that edits a collection (listeners, routes, hash lists, quarantines, filters, DLP policies,
alert recipients, protected-attachment passphrases, users, ...) describes it once with a
:class:`ListEditor`; the editor prints the numbered list, finds an entry by its name or by its number in
that list (wherever a name is asked, in a wizard or a batch line), asks which entry to edit or delete,
and runs the operation menu. What an operation does stays in the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from asyncos_cli.config.fields import ConfigError

from .prompter import CommandError

#: An operation of the menu: (keyword, description, handler(ctx)).
Operation = tuple[str, str, Callable]


@dataclass(frozen=True)
class ListEditor:
    #: What one entry is called ("listener", "SMTP route").
    noun: str
    #: The command, named in "'listenerconfig print' lists them".
    command: str
    #: The entries, in the order they are printed (and numbered).
    entries: Callable[[object], Sequence]
    #: The entry's name, as it is typed.
    name_of: Callable[[object], str]
    #: One entry's line in the printed list (the number is added in front).
    line: Callable[[object], str] = None  # type: ignore[assignment]
    #: The heading of the printed list.
    heading: str = ""
    #: Names compare without case (most appliance names do).
    ignore_case: bool = True
    #: Where the collection is kept, (section, field), for put().
    stored_in: tuple[str, str] | None = None

    # ------------------------------------------------------------ finding

    def find(self, ctx, text: str):
        """The entry named ``text``, or numbered ``text`` in the printed list."""
        entries = list(self.entries(ctx))
        key = text.strip()
        for entry in entries:
            name = self.name_of(entry)
            if name == key or (self.ignore_case and name.lower() == key.lower()):
                return entry
        if key.isdigit() and 1 <= int(key) <= len(entries):
            return entries[int(key) - 1]
        raise CommandError(f"There is no {self.noun} named {key!r} ('{self.command} print' lists them).")

    def exists(self, ctx, name: str) -> bool:
        names = [self.name_of(e) for e in self.entries(ctx)]
        return name in names or (self.ignore_case and name.lower() in (n.lower() for n in names))

    def refuse_duplicate(self, ctx, name: str) -> None:
        if self.exists(ctx, name):
            raise CommandError(f"A {self.noun} named {name} already exists.")

    def put(self, ctx, old, new) -> None:
        """Stage the collection with ``new`` in the place of ``old``: ``old`` None appends ``new``, ``new``
        None removes ``old``. A rule the section refuses is a CommandError (the staged state is unchanged)."""
        section, field = self.stored_in
        items = list(getattr(ctx.config[section], field))
        if old is None:
            items.append(new)
        elif new is None:
            items.remove(old)
        else:
            items[items.index(old)] = new
        ctx.replace_section(section, **{field: tuple(items)})

    # ------------------------------------------------------------ showing

    def print(self, ctx) -> None:
        entries = list(self.entries(ctx))
        if self.heading:
            ctx.say(self.heading)
        if not entries:
            ctx.say(f"No {self.noun} is defined.")
            return
        describe = self.line or self.name_of
        for i, entry in enumerate(entries, 1):
            ctx.say(f"{i}. {describe(entry)}")

    # ------------------------------------------------------------ asking

    def pick(self, ctx, verb: str):
        """Ask for the entry to ``verb`` (edit, delete...): a name or a number, re-asked until it names one."""
        found = []

        def check(answer: str) -> str | None:
            try:
                found[:] = [self.find(ctx, answer)]
            except CommandError as e:
                return str(e)
            return None

        ctx.prompter.ask(f"Enter the name or number of the {self.noun} you wish to {verb}.", validate=check)
        return found[0]

    def menu(self, ctx, operations: Sequence[Operation], show: Callable | None = None) -> None:
        """The operation menu, until Enter: the list is shown before each choice."""
        handlers = {keyword: handler for keyword, _, handler in operations}
        while True:
            (show or self.print)(ctx)
            ctx.say()
            op = ctx.prompter.menu([(keyword, text) for keyword, text, _ in operations])
            if op is None:
                return
            try:
                handlers[op](ctx)
            except (CommandError, ConfigError) as e:
                # One failed step is reported; the menu (and what was done before it) stays.
                ctx.prompter.error(str(e))

    def standard(self, new: Callable | None = None, edit: Callable | None = None, delete: Callable | None = None,
                 extra: Sequence[Operation] = ()) -> list[Operation]:
        """NEW, EDIT and DELETE in the appliance's words; EDIT and DELETE first ask which entry."""
        ops: list[Operation] = []
        if new is not None:
            ops.append(("NEW", f"Create a new {self.noun}.", new))
        if edit is not None:
            ops.append(("EDIT", f"Modify a {self.noun}.", lambda ctx: edit(ctx, self.pick(ctx, "edit"))))
        if delete is not None:
            ops.append(("DELETE", f"Remove a {self.noun}.", lambda ctx: delete(ctx, self.pick(ctx, "delete"))))
        return [*ops, *extra]
