"""trace: run message files through the scanning pipeline, delivering nothing."""

from __future__ import annotations

import json

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("trace", """
FILE... [--direction=incoming|outgoing] [--sender=ADDR] [--recipient=ADDR[,ADDR...]] [--format=text|json]
      [--engines=yes|no]
""", notes="The threat engines that are on (antivirusconfig, antispamconfig, ampconfig) are asked unless --engines=no.")


@command("trace", "Trace the flow of a message through the system.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    from scanning.pipeline import Clients, Envelope, parse_for, scan

    direction = str(args.take_option("direction", "incoming"))
    sender = str(args.take_option("sender", "sender@example.org"))
    recipients = [r.strip() for r in str(args.take_option("recipient", "user@example.com")).split(",") if r.strip()]
    fmt = str(args.take_option("format", "text"))
    ask_engines = str(args.take_option("engines", "yes")).lower() not in ("no", "n", "off", "false", "0")
    args.expect_done("trace")
    if direction not in ("incoming", "outgoing") or fmt not in ("text", "json"):
        raise UsageError()
    files = list(args.positional)
    if not files:
        if ctx.batch:
            raise UsageError()
        files = [ctx.prompter.ask("Enter the path of the message file to trace.")]
    config = ctx.config  # pending changes included: trace shows what a commit would do
    clients = Clients.for_config(config, ctx.keyring.reveal) if config.protected_attachments.passphrases else Clients()
    for name in files:
        raw = ctx.files.read_bytes(name)
        message = parse_for(raw, direction, config, clients)
        engines = _ask_engines(ctx, config, raw, message, sender, recipients) if ask_engines else None
        verdicts = scan(message, Envelope(sender, tuple(recipients), direction), config, clients=clients,
                        engines=engines)
        if fmt == "json":
            ctx.say(json.dumps({"file": name, "policies": [v.to_json() for v in verdicts]}, ensure_ascii=False))
            continue
        ctx.say(f"Trace of {name} ({direction}, from <{sender}>):")
        for v in verdicts:
            _say_verdict(ctx, v)


def _say_verdict(ctx, v) -> None:
    ctx.say(f"  Mail policy {v.policy}: {', '.join(v.recipients)}")
    for s in v.stages:
        ctx.say(f"    {s.stage:<16} {s.verdict:<15} {s.detail}")
    for a in v.findings["attachments"]:
        ctx.say(f"    attachment {_attachment_line(a)}")
    for u in v.findings.get("urls", []):
        ctx.say(f"    URL {u['url']} in {u['attachment']}: {u['verdict']}"
                + (f" ({u['source']})" if u["source"] else ""))
    for d in v.findings.get("dlp", []):
        ctx.say(f"    DLP policy {d['policy']}: severity {d['severity'].upper()} (risk factor "
                f"{d['risk_factor']}), action {d['action']}")
        for m in d["matches"]:
            ctx.say(f"      {m['classifier']} {m['masked']} in {m['where']} at {m['start']} "
                    f"(confidence {m['confidence']})")
    f = v.findings["filters"]
    for header, value in f["add_headers"]:
        ctx.say(f"    add header {header}: {value}")
    for d in f["dropped_attachments"]:
        ctx.say(f"    strip attachment {d['name']} ({d['why']})")
    for text in f["log_entries"]:
        ctx.say(f"    log entry: {text}")
    by = f" by {v.final_by}" if v.final_by else ""
    where = f" to quarantine {v.quarantine}" if v.quarantine else ""
    ctx.say(f"    final action: {v.action}{where}{by} (nothing was delivered: this is a trace)")


def _attachment_line(a: dict) -> str:
    flags = " protected" if a["protected"] else ""
    flags += f" ({a['protection']})" if a["protection"] else ""
    flags += f", opened with the passphrase of {a['unlocked_by']}" if a["unlocked_by"] else ""
    flags += f" UNSCANNABLE ({a['unscannable']})" if a["unscannable"] else ""
    flags += "".join(f" FLAGGED ({f})" for f in a.get("flags", ()))
    where = "/".join(a["path"] + [a["name"] or "(unnamed)"])
    return f"{where}: {a['type']}, {a['size']} bytes, sha256 {a['sha256'][:16]}...{flags}"


def _ask_engines(ctx, config, raw: bytes, message, sender: str, recipients: list[str]):
    """The engines' answers for a traced message, as the gateway would get them (nothing is logged or alerted)."""
    from asyncos_cli.services.engines.service import EngineService

    if not EngineService.wanted(config):
        return None
    import asyncio

    from asyncos_cli.services.outbound import ca_bundle
    from scanning.engines import EngineResults, engine_work

    service = EngineService(config, ctx.keyring, lambda event: None, verify=ca_bundle(config, ctx.datadir.run))
    try:
        answers = asyncio.run(service.examine(0, raw, {"From": sender, "Rcpt": recipients},
                                              engine_work(message, config), config))
    finally:
        service.close()
    return EngineResults(**answers)
