"""remediate: delete, forward, or forward and delete delivered messages in the recipients' mailboxes, as
background jobs, and their status (the remediation report)."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("remediate", """
delete|forward|forward-delete --mids=MID,... [--to=ADDRESS] [--profile=NAME]
      (the MIDs come from message tracking: findevent; --to is where forward sends)
status [JOB]
""")

@command("remediate", "Search and remediate delivered messages (delete, forward).", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.services import remediation as rm

    sub, rest = args.split()
    if sub == "status" and len(rest) <= 1:
        args.expect_done("remediate status")
        return _status(ctx, int(rest[0]) if rest and rest[0].isdigit() else None)
    if sub in rm.ACTIONS and not rest:
        mids = str(args.take_option("mids", ""))
        to = str(args.take_option("to", ""))
        profile = args.take_option("profile")
        args.expect_done(f"remediate {sub}")
        return _queue(ctx, sub, mids, to, None if profile is None else str(profile))
    raise UsageError()


def _queue(ctx, action: str, mids_text: str, to: str, profile: str | None) -> None:
    from asyncos_cli.services.remediation import RemediationError, job_items
    from asyncos_cli.shell.shared.tracking import remediation_jobs, tracking_store

    try:
        mids = [int(m) for m in mids_text.split(",") if m.strip()]
    except ValueError:
        raise CommandError(f"--mids takes MIDs separated by commas, got {mids_text!r}") from None
    try:
        items = job_items(tracking_store(ctx).history, mids, action, to, profile, ctx.config)
    except RemediationError as e:
        raise CommandError(str(e)) from None
    job = remediation_jobs(ctx).queue(ctx.user, action, to, items)
    ctx.say(f"Search and remediate job {job} queued: {action} of {len(mids)} message(s), {len(items)} mailbox(es)"
            f"{' to ' + to if to else ''}. The running gateway carries it out; 'remediate status {job}' follows it.")


def _status(ctx, job_id: int | None) -> None:
    from asyncos_cli.shell.shared.tracking import remediation_jobs

    found = remediation_jobs(ctx).jobs(job_id)
    if not found:
        ctx.say("No search and remediate jobs." if job_id is None else f"No job {job_id}.")
        return
    from asyncos_cli.services.remediation import counts

    for job in found:
        summary = ", ".join(f"{n} {s}" for s, n in counts(job).items())
        ctx.say(f"Job {job['id']}: {job['action']}{' to ' + job['forward_to'] if job['forward_to'] else ''}, "
                f"requested by {job['user']} at {time.ctime(job['created'])}: {job['status']} ({summary})")
        if job_id is not None:
            for i in job["items"]:
                ctx.say(f"  MID {i['mid']} {i['recipient']} [{i['profile'] or 'by domain'}]: {i['status']}"
                        + (f" - {i['detail']}" if i["detail"] else ""))
