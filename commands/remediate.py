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
    from asyncos_cli.config.addresses import address_problem
    from asyncos_cli.shell.shared.tracking import remediation_jobs, tracking_store

    if action != "delete":
        problem = address_problem(to) if to else "forward needs --to=ADDRESS"
        if problem:
            raise CommandError(f"--to: {problem}")
    if profile is not None and ctx.config.remediation.get(profile) is None:
        raise CommandError(f"No remediation profile named {profile} ('remediationconfig print').")
    try:
        mids = [int(m) for m in mids_text.split(",") if m.strip()]
    except ValueError:
        raise CommandError(f"--mids takes MIDs separated by commas, got {mids_text!r}") from None
    if not mids:
        raise CommandError("Give the messages: --mids=MID,... (findevent shows them).")
    tracking = tracking_store(ctx)
    items = []
    for mid in mids:
        rec = tracking.history(mid)
        if rec is None:
            raise CommandError(f"MID {mid} is not in message tracking (or still in flight).")
        if rec.get("final_action") != "DELIVERED":
            raise CommandError(f"MID {mid} was not delivered ({rec.get('final_action') or 'in flight'}): "
                               "nothing to remediate in the mailboxes.")
        if not rec.get("message_id"):
            raise CommandError(f"MID {mid} has no Message-ID to find it by in the mailboxes.")
        for rcpt in rec["recipients"]:
            items.append({"mid": mid, "message_id": rec["message_id"], "recipient": rcpt, "profile": profile or ""})
    job = remediation_jobs(ctx).queue(ctx.user, action, to, items)
    ctx.say(f"Search and remediate job {job} queued: {action} of {len(mids)} message(s), {len(items)} mailbox(es)"
            f"{' to ' + to if to else ''}. The running gateway carries it out; 'remediate status {job}' follows it.")


def _status(ctx, job_id: int | None) -> None:
    from asyncos_cli.shell.shared.tracking import remediation_jobs

    found = remediation_jobs(ctx).jobs(job_id)
    if not found:
        ctx.say("No search and remediate jobs." if job_id is None else f"No job {job_id}.")
        return
    for job in found:
        counts: dict[str, int] = {}
        for i in job["items"]:
            counts[i["status"]] = counts.get(i["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        ctx.say(f"Job {job['id']}: {job['action']}{' to ' + job['forward_to'] if job['forward_to'] else ''}, "
                f"requested by {job['user']} at {time.ctime(job['created'])}: {job['status']} ({summary})")
        if job_id is not None:
            for i in job["items"]:
                ctx.say(f"  MID {i['mid']} {i['recipient']} [{i['profile'] or 'by domain'}]: {i['status']}"
                        + (f" - {i['detail']}" if i["detail"] else ""))
