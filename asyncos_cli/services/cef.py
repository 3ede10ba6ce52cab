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
    fields: list[tuple[str, object]] = [("deviceExternalId", serial), ("ESAMID", rec.mid), ("ESAICID", rec.icid)]
    for name, stage in _VERDICT_FIELDS:
        fields.append((name, verdicts.get(stage, {}).get("verdict", "NOT_EVALUATED")))
    fields.append(("endTime", time.ctime(rec.finished or time.time())))
    fields.append(("ESADLPVerdict", "VIOLATION" if rec.dlp else verdicts.get("dlp", {}).get("verdict", "NOT_EVALUATED")))
    if rec.attachments or rec.amp:
        fields.append(("ESAAttachmentDetails", _attachment_details(rec)))
    fields.append(("startTime", time.ctime(rec.received)))
    direction = 1 if any(p.startswith("outgoing") for p in rec.policies) else 0
    fields.append(("deviceDirection", direction))
    fields.append(("suser", rec.sender))
    if rec.policies:
        fields.append(("cs1Label", "MailPolicy"))
        fields.append(("cs1", rec.policies[0].split(" ", 1)[1]))
    fields.append(("ESAMFVerdict", verdicts.get("message_filters", {}).get("verdict", "NOT_EVALUATED")))
    fields.append(("act", _ACT.get(rec.final_action or "", rec.final_action or "")))
    if rec.final_detail:
        fields.append(("ESAFinalActionDetails", rec.final_detail))
    if rec.message_id:
        fields.append(("cs4Label", "ExternalMsgID"))
        fields.append(("cs4", f"'{rec.message_id}'"))
    fields.append(("ESAMsgSize", rec.size))
    fields.append(("duser", ";".join(rec.recipients)))
    fields.append(("cfp1Label", "SBRSScore"))
    fields.append(("cfp1", rec.sbrs))
    fields += _sdr_fields(verdicts.get("sdr"))
    if rec.sender_group:
        fields.append(("ESASenderGroup", rec.sender_group))
    fields.append(("msg", f"'{rec.subject}'"))
    fields += _details(rec)
    header = (f"CEF:0|Cisco|{model} Email Security Gateway|{__version__}|ESA_CONSOLIDATED_LOG_EVENT|"
              "Consolidated Log Event|5|")
    if chosen:
        keep = {*chosen, "ESAMID"}
        keep |= {f"{k}Label" for k in chosen}  # a cs1 chosen brings its label
        fields = [(k, v) for k, v in fields if k in keep]
    return header + " ".join(f"{k}={v!r}" if isinstance(v, dict) else f"{k}={v}" for k, v in fields)


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
    out: list[tuple[str, object]] = []
    if rec.urls:
        out.append(("ESAURLDetails", {u["url"]: {"verdict": u["verdict"], "attachment": u["attachment"]}
                                      for u in rec.urls}))
    if rec.dlp:
        out.append(("ESADLPDetails", {d["policy"]: {"severity": d["severity"], "risk_factor": d["risk_factor"]}
                                      for d in rec.dlp}))
    return out


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
