"""The Consolidated Event Log: one CEF line per message, built from its tracking record when it finishes.

The layout and the field order follow the appliance's (what SIEM parsers
written for it expect): ``CEF:0|Cisco|<model>|<version>|ESA_CONSOLIDATED_LOG_EVENT|Consolidated Log
Event|5|`` then space-separated ``key=value`` pairs, values unescaped, dicts
printed as Python reprs, fields with no value left out. Written only when a
subscription of type "consolidated" exists.
"""

from __future__ import annotations

import time

from asyncos_cli import __version__
from asyncos_cli.events import Event, EventBus, escape_controls
from asyncos_cli.events.mail import MessageFinished

#: Engine stage -> CEF verdict field.
_VERDICT_FIELDS = (("ESAAMPVerdict", "file_reputation"), ("ESAASVerdict", "antispam"),
                   ("ESAAVVerdict", "antivirus"), ("ESACFVerdict", "content_filters"))
_ACT = {"DELIVERED": "DELIVERED", "QUARANTINED": "QUARANTINED", "BOUNCED": "BOUNCED", "DROPPED": "ABORTED"}


def cef_line(rec, serial: str, model: str, chosen: tuple[str, ...] = ()) -> str:
    """The line for one tracking record; ``chosen`` limits the fields (ESAMID is always there)."""
    verdicts = rec.verdicts
    get = lambda name, default="": getattr(rec, name, default)  # noqa: E731  (records stored before a field came)
    fields: list[tuple[str, object]] = [("deviceExternalId", serial), ("ESAMID", rec.mid), ("ESAICID", rec.icid)]
    if get("dcid", None) is not None:
        fields.append(("ESADCID", rec.dcid))
    for name, stage in _VERDICT_FIELDS:
        fields.append((name, _verdict(verdicts, stage)))
    fields.append(("endTime", time.ctime(rec.finished or time.time())))
    if "dkim" in verdicts:
        fields.append(("ESADKIMVerdict", _AUTH_WORDS.get(verdicts["dkim"]["verdict"].lower(), "None")))
    fields.append(("ESADLPVerdict", "VIOLATION" if rec.dlp else _verdict(verdicts, "dlp")))
    if get("interface_ip"):
        fields.append(("dvc", rec.interface_ip))
    if rec.attachments or rec.amp:
        fields.append(("ESAAttachmentDetails", _attachment_details(rec)))
    if get("friendly_from"):
        fields.append(("ESAFriendlyFrom", rec.friendly_from))
    fields.append(("startTime", time.ctime(rec.received)))
    outgoing = any(p.startswith("outgoing") for p in rec.policies)
    if get("listener"):
        fields.append(("deviceOutboundInterface" if outgoing else "deviceInboundInterface", rec.listener))
    fields.append(("deviceDirection", 1 if outgoing else 0))
    if get("mail_flow_policy"):
        fields.append(("ESAMailFlowPolicy", rec.mail_flow_policy))
    fields.append(("suser", rec.sender))
    if rec.policies:
        fields.append(("cs1Label", "MailPolicy"))
        fields.append(("cs1", rec.policies[0].split(" ", 1)[1]))
    fields.append(("ESAMFVerdict", _verdict(verdicts, "message_filters")))
    fields.append(("act", _ACT.get(rec.final_action or "", rec.final_action or "")))
    if rec.final_detail:
        fields.append(("ESAFinalActionDetails", rec.final_detail))
    if rec.message_id:
        fields.append(("cs4Label", "ExternalMsgID"))
        fields.append(("cs4", f"'{rec.message_id}'"))
    fields.append(("ESAMsgSize", rec.size))
    fields.append(("duser", ";".join(rec.recipients)))
    if get("helo"):
        fields.append(("ESAHeloDomain", rec.helo))
    if rec.remote_ip:
        fields.append(("ESAHeloIP", rec.remote_ip))
    if get("reply_to"):
        fields.append(("ESAReplyTo", rec.reply_to))
    fields.append(("cfp1Label", "SBRSScore"))
    fields.append(("cfp1", rec.sbrs))
    if get("sender_maturity", None) is not None:
        fields.append(("ESASDRDomainAge", _maturity(rec.sender_maturity)))
    fields += _sdr_fields(verdicts.get("sdr"))
    if "spf" in verdicts:
        fields.append(("ESASPFVerdict", _spf_verdict(verdicts["spf"])))
    if get("rdns_host") or rec.remote_ip:
        fields.append(("shost", get("rdns_host") or "unknown"))
    if rec.sender_group:
        fields.append(("ESASenderGroup", rec.sender_group))
    if rec.remote_ip:
        fields.append(("src", rec.remote_ip))
    fields.append(("msg", f"'{rec.subject}'"))
    fields += _details(rec)
    fields += _tls_fields("In", get("tls_in", {}), bool(rec.remote_ip))
    fields += _tls_fields("Out", get("tls_out", {}), get("dcid", None) is not None)
    if "dmarc" in verdicts:
        fields.append(("ESADMARCVerdict", _DMARC_WORDS.get(verdicts["dmarc"]["verdict"].lower(), "Skipped")))
    if rec.dlp:  # beyond the appliance's fields: last, so parsers that stop at the known ones lose nothing
        fields.append(("ESADLPDetails", {d["policy"]: {"severity": d["severity"], "risk_factor": d["risk_factor"]}
                                         for d in rec.dlp}))
    header = (f"CEF:0|Cisco|{model} Email Security Gateway|{__version__}|ESA_CONSOLIDATED_LOG_EVENT|"
              "Consolidated Log Event|5|")
    if chosen:
        keep = {*chosen, "ESAMID"}
        keep |= {f"{k}Label" for k in chosen}  # a cs1 chosen brings its label
        fields = [(k, v) for k, v in fields if k in keep]
    return header + " ".join(f"{k}={v!r}" if isinstance(v, dict) else f"{k}={v}" for k, v in fields)


#: A stage that looked and found nothing, in the appliance's words per field.
_NOTHING_FOUND = {"dlp": "NO_TRIGGER", "content_filters": "NO_MATCH", "message_filters": "NO_MATCH"}


def _verdict(verdicts: dict, stage: str) -> str:
    verdict = verdicts.get(stage, {}).get("verdict", "NOT_EVALUATED")
    return _NOTHING_FOUND.get(stage, verdict) if verdict == "NEGATIVE" else verdict


#: Authentication results as the appliance writes them in CEF.
_AUTH_WORDS = {"pass": "Pass", "fail": "Fail", "softfail": "SoftFail", "neutral": "Neutral", "none": "None",
               "temperror": "TempError", "permerror": "PermError"}
_DMARC_WORDS = {"pass": "Pass", "fail": "PermFailure", "none": "None", "temperror": "TempFailure",
                "permerror": "PermFailure"}


def _spf_verdict(verdict: dict) -> dict:
    """{'mailfrom': {'result': 'Pass', 'sender': ...}, 'helo': {...}[, 'pra': {...}]} from tracking's
    "mailfrom X; helo R Y[; pra R Z]" (no helo part where the strict SIDF level checked none)."""
    mailfrom, *others = verdict.get("detail", "").split("; ")
    found = {"helo": ("", "")}
    for part in others:
        identity, _, rest = part.partition(" ")
        result, _, sender = rest.partition(" ")
        found[identity] = (result, sender)
    out = {"mailfrom": {"result": _AUTH_WORDS.get(verdict["verdict"].lower(), "None"),
                        "sender": mailfrom.removeprefix("mailfrom ")}}
    for identity in ("helo", "pra"):
        if identity in found:
            result, sender = found[identity]
            out[identity] = {"result": _AUTH_WORDS.get(result.lower(), "None"), "sender": sender}
    return out


def _maturity(days: int) -> str:
    return "30 days (or greater)" if days >= 30 else f"{days} day{'s' if days != 1 else ''}"


def _tls_fields(way: str, tls: dict, happened: bool) -> list[tuple[str, object]]:
    """ESATLSIn*/ESATLSOut*: the cipher, Success or Failure, the protocol (a connection in clear has none)."""
    if not happened or not tls:
        return []
    return [(f"ESATLS{way}Cipher", tls.get("cipher", "")), (f"ESATLS{way}ConnStatus", "Success"),
            (f"ESATLS{way}Protocol", tls.get("protocol", ""))]


def _attachment_details(rec) -> dict:
    details = {name: {"BodyScanner": {"fsize": size}} for name, size, _ in rec.attachments}
    for a in rec.amp:  # the appliance's shape: {'name': {'AMP': {'Verdict': 'FILE UNKNOWN', 'fileHash': ...}}}
        details.setdefault(a["file"], {})["AMP"] = {"Verdict": f"FILE {a['verdict'].upper()}", "fileHash": a["sha256"]}
    return details


def _sdr_fields(sdr: dict | None) -> list[tuple[str, object]]:
    if not sdr:
        return []
    return [("cs3Label", "SDRThreatCategory"), ("cs3", sdr.get("detail") or "N/A"),
            ("cs6Label", "SDRRepScore"), ("cs6", sdr["verdict"].capitalize())]


def _details(rec) -> list[tuple[str, object]]:
    """ESAURLDetails with the appliance's inner keys: the attachment a URL was found in and its WBRS score."""
    if not rec.urls:
        return []
    return [("ESAURLDetails", {u["url"]: {"AttachmentWithUrl": u["attachment"],
                                          "WbrsScore": "noscore" if u.get("score") is None else f"{u['score']:.1f}"}
                               for u in rec.urls})]


class ConsolidatedEvents:
    def __init__(self, logs, tracking, serial: str, model_of):
        self.logs, self.tracking, self.serial, self.model_of = logs, tracking, serial, model_of

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(MessageFinished, self._finished)

    def _finished(self, e: Event) -> None:
        assert isinstance(e, MessageFinished)
        if not self.logs.has("consolidated"):
            return
        rec = self.tracking.get(e.mid)
        if rec is None:
            return
        for chosen in self.logs.cef_field_choices():
            self.logs.write_to("consolidated", chosen,
                              escape_controls(cef_line(rec, self.serial, self.model_of(), chosen)))
