"""Security Services > Scan Behavior: scanning of password-protected attachments (inbound, outbound), the
passphrase budget, and the user-defined passphrases (add, edit, reorder by priority, delete).

The same section ``protectedattachmentconfig`` edits; a change is pending for the user until Commit. Passphrases
are sealed with the appliance's key as soon as they arrive and are shown masked; an administrator may reveal them,
which the CLI audit log records as the shell's ``print --reveal`` does.
"""

from __future__ import annotations

import os
from urllib.parse import urlencode

from aiohttp import web

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import ProtectedAttachmentsSection, ProtectedPassphrase
from asyncos_cli.config.secrets import Keyring
from asyncos_cli.events.shell import SecretsRevealed

from ..routes import ApiError
from . import forms
from .forms import Problems
from .html import csrf_field, esc, table

PATH = "/settings/scan-behavior"
TITLE = "Scan Behavior"


class ScanBehavior:
    def __init__(self, pages):
        self.pages = pages
        self._keyring = None

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = Keyring(self.pages.api.access.datadir.key_file)
        return self._keyring

    async def page(self, request, problems: Problems | None = None, typed=None, status: int = 200) -> web.Response:
        s = request["ui_session"]
        reveal = request.query.get("reveal") == "1"
        if reveal and s.role != R.ADMINISTRATORS:
            return self.pages._refused(request, ApiError(403, "Not allowed.", "Only administrators can reveal "
                                                         "passphrases: they are shown masked."))
        if reveal:
            self.pages.api.access.bus.emit(SecretsRevealed(os.getpid(), s.user, "protected attachment passphrases",
                                                           f"the web interface ({request.remote})"))
        section = self.pages.config_for(request).protected_attachments
        problems = problems or Problems()
        typed = typed or {}
        if not typed and request.query.get("edit", "").isdigit():
            typed = {"form": "edit", "current": request.query["edit"]}
        can_change = s.role in (R.ADMINISTRATORS, R.OPERATORS)
        body = forms.general(problems) if typed.get("form") in ("move", "delete") else ""
        body += _settings(section, s, problems if typed.get("form") == "setup" else Problems(), typed, can_change)
        body += "<h3>User Defined Passphrases</h3>"
        ordered = section.ordered()
        rows = []
        for i, p in enumerate(ordered):
            shown = self.keyring.reveal(p.passphrase) if reveal else "********"
            cells = [str(p.priority), f'<span class="secret">{esc(shown)}</span>']
            if can_change:
                cells.append(_row_actions(s, p, i, len(ordered)))
            rows.append(cells)
        headers = ["Priority", "Passphrase"] + (["Actions"] if can_change else [])
        body += table(headers, rows, "Passphrases, tried in priority order") if rows else \
            "<p>No passphrases are defined.</p>"
        if s.role == R.ADMINISTRATORS and rows and not reveal:
            body += f'<p><a href="{PATH}?reveal=1">Reveal passphrases</a> (written to the audit log)</p>'
        if can_change and typed.get("form") == "edit":
            body += _edit_form(s, typed, problems)
        elif can_change:
            body += _add_form(s, section, problems if typed.get("form") == "add" else Problems(), typed)
        return self.pages._page(request, TITLE, body, status, notice=request.query.get("done", ""))

    async def change(self, request) -> web.Response:
        op = request.match_info["op"]
        form = request["form"]
        session = self.pages._user_session(request["ui_session"].user)
        section = session.config.protected_attachments
        problems = Problems()
        typed = {k: str(v) for k, v in form.items() if k not in ("csrf", "passphrase")}
        typed["form"] = op
        try:
            new, done = getattr(self, f"_{op}")(section, form, problems)
        except ConfigError as e:
            problems.add(e, ("priority", "passphrase", "budget_seconds", "share_seconds"))
            new = None
        if new is not None and not problems:
            try:
                session.stage(new)
            except ConfigError as e:
                problems.add(e, ("priority", "passphrase", "budget_seconds", "share_seconds"))
        if problems:
            return await self.page(request, problems, typed, 400)
        raise web.HTTPSeeOther(PATH + "?" + urlencode({"done": done + " Commit to apply."}))

    # ------------------------------------------------------------ the changes

    def _setup(self, section, form, problems):
        budget = forms.read(ProtectedAttachmentsSection, "budget_seconds", form.get("budget_seconds"), problems)
        share = forms.read(ProtectedAttachmentsSection, "share_seconds", form.get("share_seconds"), problems)
        if problems:
            return None, ""
        return section.replace(inbound=form.get("inbound") == "on", outbound=form.get("outbound") == "on",
                               harvest_from_body=form.get("harvest_from_body") == "on",
                               budget_seconds=budget, share_seconds=share), "Scan behavior changed."

    def _passphrase(self, form, problems, required: bool):
        text = str(form.get("passphrase", ""))
        if not text and required:
            problems.setdefault("passphrase", "Enter a passphrase.")
        elif len(text) > 256:
            problems.setdefault("passphrase", "A passphrase has at most 256 characters.")
        return self.keyring.seal(text) if text and "passphrase" not in problems else None

    def _add(self, section, form, problems):
        priority = forms.read(ProtectedPassphrase, "priority", form.get("priority"), problems)
        sealed = self._passphrase(form, problems, required=True)
        if priority is not None and any(p.priority == priority for p in section.passphrases):
            problems.setdefault("priority", f"A passphrase with priority {priority} already exists.")
        if problems:
            return None, ""
        return (section.replace(passphrases=section.passphrases + (ProtectedPassphrase(priority, sealed),)),
                f"Passphrase added with priority {priority}.")

    def _edit(self, section, form, problems):
        current = _find(section, form.get("current"))
        priority = forms.read(ProtectedPassphrase, "priority", form.get("priority"), problems)
        sealed = self._passphrase(form, problems, required=False)
        if priority is not None and priority != current.priority and any(p.priority == priority
                                                                          for p in section.passphrases):
            problems.setdefault("priority", f"A passphrase with priority {priority} already exists.")
        if problems:
            return None, ""
        changed = ProtectedPassphrase(priority, sealed or current.passphrase)
        return (section.replace(passphrases=tuple(changed if p is current else p for p in section.passphrases)),
                f"Passphrase with priority {current.priority} changed.")

    def _move(self, section, form, problems):
        """Up or down one place: the two passphrases change places, their priorities stay."""
        ordered = list(section.ordered())
        current = _find(section, form.get("current"))
        i = ordered.index(current)
        j = i - 1 if form.get("direction") == "up" else i + 1
        if not 0 <= j < len(ordered):
            problems.setdefault("general", "That passphrase cannot move further.")
            return None, ""
        other = ordered[j]
        swapped = {current.priority: other.passphrase, other.priority: current.passphrase}
        return (section.replace(passphrases=tuple(p.replace(passphrase=swapped.get(p.priority, p.passphrase))
                                                  for p in section.passphrases)),
                f"Passphrase moved {'up' if j < i else 'down'}.")

    def _delete(self, section, form, problems):
        current = _find(section, form.get("current"))
        return (section.replace(passphrases=tuple(p for p in section.passphrases if p is not current)),
                f"Passphrase with priority {current.priority} deleted.")


def _find(section, priority) -> ProtectedPassphrase:
    found = next((p for p in section.passphrases if str(p.priority) == str(priority)), None)
    if found is None:
        raise ConfigError(f"There is no passphrase with priority {priority}.", "general")
    return found


def _settings(section, s, problems: Problems, typed: dict, can_change: bool) -> str:
    budget = typed.get("budget_seconds", f"{section.budget_seconds:g}")
    share = typed.get("share_seconds", f"{section.share_seconds:g}")
    fields = (forms.checkbox("inbound", "Scan password-protected attachments of incoming mail", section.inbound)
              + forms.checkbox("outbound", "Scan password-protected attachments of outgoing mail", section.outbound)
              + forms.checkbox("harvest_from_body", "Also try passphrases the message text gives",
                               section.harvest_from_body)
              + forms.text_field("budget_seconds", "Passphrase budget (seconds per message)", budget, problems,
                                 help_text=forms.help_of(ProtectedAttachmentsSection, "budget_seconds"))
              + forms.text_field("share_seconds", "Most one attachment may take (seconds)", share, problems,
                                 help_text=forms.help_of(ProtectedAttachmentsSection, "share_seconds")))
    if not can_change:
        return (f'<h3>Password-Protected Attachments</h3><fieldset disabled class="settings">{fields}</fieldset>')
    return (f'<h3>Password-Protected Attachments</h3><form method="post" action="{PATH}/setup" class="settings" '
            f'novalidate>{csrf_field(s)}{forms.general(problems)}{fields}<button type="submit">Submit</button></form>')


def _row_actions(s, p: ProtectedPassphrase, i: int, count: int) -> str:
    hidden = f'{csrf_field(s)}<input type="hidden" name="current" value="{p.priority}">'
    out = ""
    for direction, label, show in (("up", "Move up", i > 0), ("down", "Move down", i < count - 1)):
        if show:
            out += (f'<form method="post" action="{PATH}/move" class="inline">{hidden}'
                    f'<input type="hidden" name="direction" value="{direction}">'
                    f'<button type="submit" aria-label="{label} priority {p.priority}">{label}</button></form>')
    out += (f'<form method="get" action="{PATH}" class="inline"><input type="hidden" name="edit" '
            f'value="{p.priority}"><button type="submit">Edit</button></form>')
    out += (f'<form method="post" action="{PATH}/delete" class="inline">{hidden}'
            f'<button type="submit" class="danger" aria-label="Delete priority {p.priority}">Delete</button></form>')
    return out


def _add_form(s, section, problems: Problems, typed: dict) -> str:
    used = {p.priority for p in section.passphrases}
    free = next((i for i in range(1000) if i not in used), 999)
    return (f'<h3>Add Passphrase</h3><form method="post" action="{PATH}/add" class="settings" novalidate>'
            f'{csrf_field(s)}{forms.general(problems)}'
            + forms.text_field("priority", "Priority", typed.get("priority", free), problems,
                               help_text=forms.help_of(ProtectedPassphrase, "priority"))
            + forms.text_field("passphrase", "Passphrase", "", problems, kind="password",
                               extra=' autocomplete="new-password"')
            + '<button type="submit">Add</button></form>')


def _edit_form(s, typed: dict, problems: Problems) -> str:
    current = typed.get("current", "")
    return (f'<h3>Edit Passphrase {esc(current)}</h3><form method="post" action="{PATH}/edit" class="settings" '
            f'novalidate>{csrf_field(s)}<input type="hidden" name="current" value="{esc(current)}">'
            f'{forms.general(problems)}'
            + forms.text_field("priority", "Priority", typed.get("priority", current), problems,
                               help_text=forms.help_of(ProtectedPassphrase, "priority"))
            + forms.text_field("passphrase", "New passphrase (empty: keep it)", "", problems, kind="password",
                               extra=' autocomplete="new-password"')
            + '<button type="submit">Submit</button></form>')
