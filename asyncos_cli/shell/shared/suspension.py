"""What suspend, suspenddel, resume and resumedel share: the grace delay, and asking the running gateway."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

DEFAULT_DELAY = 30
DELAY_QUESTION = "Enter the number of seconds to wait before abruptly closing connections."


def delay(ctx, args) -> int:
    """--delay=N in batch (30 when not given); the appliance's question interactively."""
    given = args.take_option("delay", None)
    if given is None and not ctx.batch:
        given = ctx.prompter.ask(DELAY_QUESTION, str(DEFAULT_DELAY), validate=_problem)
    text = str(DEFAULT_DELAY if given is None else given)
    problem = _problem(text)
    if problem:
        raise CommandError(f"--delay: {problem}")
    return int(text)


def _problem(text: str) -> str | None:
    if text.isdigit() and int(text) <= 3600:
        return None
    return f"must be a number of seconds from 0 to 3600, got {text!r}"


def suspend(ctx, receiving: bool, seconds: int) -> None:
    if receiving:
        ctx.say("Waiting for listeners to exit...")
    answer = ctx.control("suspend", receiving=receiving, delivery=True, delay=seconds, timeout=seconds * 2 + 30)
    if receiving:
        closed = answer.get("sessions_closed", 0)
        ctx.say("Receiving suspended." + (f" {closed} connections still open after {seconds} s were closed."
                                          if closed else ""))
    ctx.say("Waiting for outgoing deliveries to finish...")
    stopped = answer.get("deliveries_stopped", 0)
    ctx.say("Mail delivery suspended." + (f" {stopped} deliveries still under way after {seconds} s were stopped: "
                                          "their messages stay queued." if stopped else ""))


def resume(ctx, receiving: bool) -> None:
    answer = ctx.control("resume", receiving=receiving, delivery=True)
    if receiving:
        ctx.say("Receiving resumed.")
    ctx.say(f"Mail delivery resumed. Messages in the queue: {answer['queued']}.")


def suspend_command(name: str, summary: str, receiving: bool, notes: str):
    """The suspend / suspenddel command: the same grace delay and answer, receiving stopped or not."""
    grammar = Grammar(name, "\n[--delay=SECONDS]\n", notes=notes)

    @command(name, summary, roles=R.CONFIGURE, grammar=grammar)
    def run(ctx, args):
        seconds = delay(ctx, args)
        args.expect_done(name)
        suspend(ctx, receiving=receiving, seconds=seconds)

    return run
