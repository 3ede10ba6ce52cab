"""Mail Policies > DLP Policy Manager: DLP policies from the Privacy Protection template or chosen classifiers
(the five national-ID classifiers and the custom ones), severities and their actions, and the outgoing mail
policies that apply each.

The same sections ``dlpconfig`` and ``policyconfig --dlp`` edit; a change is pending for the user until Commit.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import quote, urlencode

from aiohttp import web

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import (
    DLP_ACTIONS,
    DLP_CLASSIFIER_NAMES,
    DLP_PREDEFINED,
    DLP_SEVERITIES,
    DLP_TEMPLATE_NAMES,
    DLP_TEMPLATES,
    DlpPolicy,
)
from asyncos_cli.config.validators import check_name

from . import forms
from .forms import Problems
from .html import csrf_field, esc, table

PATH = "/settings/dlp"
TITLE = "DLP Policy Manager"
FIELDS = ("name", "classifiers", "min_confidence", "min_matches", "medium_from", "high_from", "critical_from",
          *(f"action_{s}" for s in DLP_SEVERITIES))


class DlpPolicyManager:
    def __init__(self, pages):
        self.pages = pages

    async def listing(self, request) -> web.Response:
        s = request["ui_session"]
        config = self.pages.config_for(request)
        can_change = s.role in (R.ADMINISTRATORS, R.OPERATORS)
        rows = []
        for p in config.dlp.policies:
            users = _users_of(config, p.name)
            name = f'<a href="{PATH}/edit/{quote(p.name)}">{esc(p.name)}</a>' if can_change else esc(p.name)
            cells = [name, esc(", ".join(_label(c) for c in p.classifiers)),
                     esc(", ".join(f"{sev.upper()}: {getattr(p, f'action_{sev}')}" for sev in DLP_SEVERITIES)),
                     esc(", ".join(users) or "none")]
            if can_change:
                cells.append(f'<form method="post" action="{PATH}/delete" class="inline">{csrf_field(s)}'
                             f'<input type="hidden" name="original" value="{esc(p.name)}">'
                             f'<button type="submit" class="danger" aria-label="Delete {esc(p.name)}">Delete'
                             '</button></form>')
            rows.append(cells)
        headers = ["DLP Policy", "Classifiers", "Actions", "Outgoing mail policies"] + (["Delete"] if can_change
                                                                                         else [])
        body = table(headers, rows, "DLP policies") if rows else "<p>No DLP policies are defined.</p>"
        if can_change:
            body += ("<h3>Add DLP Policy</h3><ul>"
                     + "".join(f'<li><a href="{PATH}/new?template={t}">{esc(DLP_TEMPLATE_NAMES[t])}</a> '
                               f'({esc(", ".join(DLP_CLASSIFIER_NAMES[c] for c in DLP_TEMPLATES[t]))})</li>'
                               for t in DLP_TEMPLATES)
                     + f'<li><a href="{PATH}/new">Custom policy (choose the classifiers)</a></li></ul>')
        return self.pages._page(request, TITLE, body, notice=request.query.get("done", ""))

    async def form(self, request, problems: Problems | None = None, typed: dict | None = None,
                   status: int = 200) -> web.Response:
        config = self.pages.config_for(request)
        original = request.match_info.get("name", "")
        if typed is None:
            if original:
                policy = config.dlp.get(original)
                if policy is None:
                    return self.pages._page(request, TITLE, f"<p>There is no DLP policy {esc(original)}.</p>", 404)
                typed = _typed_from(policy, _users_of(config, policy.name))
            else:
                template = request.query.get("template", "")
                template = template if template in DLP_TEMPLATES else ""
                typed = {**{f.name: str(f.default) for f in dataclasses.fields(DlpPolicy)
                            if f.default is not dataclasses.MISSING}, "name": "", "template": template,
                         "classifiers": list(DLP_TEMPLATES.get(template, ())), "mail_policies": []}
            typed["original"] = original
        title = f"Edit DLP Policy {typed['original']}" if typed.get("original") else "Add DLP Policy"
        body = _policy_form(request["ui_session"], config, typed, problems or Problems())
        return self.pages._page(request, title, body, status)

    async def save(self, request) -> web.Response:
        form = request["form"]
        session = self.pages._user_session(request["ui_session"].user)
        config = session.config
        original = str(form.get("original", ""))
        typed = {"original": original, "name": str(form.get("name", "")).strip(),
                 "template": str(form.get("template", "")), "classifiers": form.getall("classifiers", []),
                 "mail_policies": form.getall("mail_policies", []),
                 **{k: str(form.get(k, "")) for k in FIELDS if k not in ("name", "classifiers")}}
        problems = Problems()
        values = {k: forms.read(DlpPolicy, k, typed[k], problems) for k in FIELDS
                  if k not in ("name", "classifiers")}
        try:
            check_name(typed["name"], "name", "DLP policy name")
        except ConfigError as e:
            problems.add(e, FIELDS)
        current = config.dlp.get(original) if original else None
        if original and current is None:
            problems.setdefault("general", f"There is no DLP policy {original} any more.")
        clash = config.dlp.get(typed["name"])
        if typed["name"] and clash is not None and clash is not current:
            problems.setdefault("name", f"A DLP policy named {clash.name} already exists.")
        known = set(DLP_PREDEFINED) | {c.name for c in config.dlp.classifiers}
        chosen = tuple(c for c in typed["classifiers"] if c in known)
        outgoing = {p.name for p in config.mail_policies.outgoing}
        if not problems:
            try:
                policy = DlpPolicy(typed["name"], chosen, typed["template"] if typed["template"] in DLP_TEMPLATES
                                   else "", **values)
                kept = config.dlp.policies + (policy,) if current is None else tuple(
                    policy if p is current else p for p in config.dlp.policies)
                dlp = config.dlp.replace(policies=kept)
                attached = [m for m in typed["mail_policies"] if m in outgoing]
                session.stage(dlp)
                session.stage(_attach(config.mail_policies, original, policy.name, attached))
            except ConfigError as e:
                problems.add(e, FIELDS)
        if problems:
            return await self.form(request, problems, typed, 400)
        raise web.HTTPSeeOther(PATH + "?" + urlencode({"done": f"DLP policy {typed['name']} saved. Commit to "
                                                               "apply."}))

    async def delete(self, request) -> web.Response:
        session = self.pages._user_session(request["ui_session"].user)
        config = session.config
        policy = config.dlp.get(str(request["form"].get("original", "")))
        if policy is None:
            raise web.HTTPSeeOther(PATH + "?" + urlencode({"done": "That DLP policy is already gone."}))
        session.stage(config.dlp.replace(policies=tuple(p for p in config.dlp.policies if p is not policy)))
        session.stage(_attach(config.mail_policies, policy.name, "", []))
        raise web.HTTPSeeOther(PATH + "?" + urlencode({"done": f"DLP policy {policy.name} deleted (and taken off "
                                                               "its mail policies). Commit to apply."}))


def _users_of(config, name: str) -> list[str]:
    return [m.name for m in config.mail_policies.outgoing if name in m.dlp_policies]


def _attach(mail_policies, old_name: str, new_name: str, chosen: list[str]):
    """Outgoing mail policies: ``new_name`` in exactly the chosen ones (in place of ``old_name`` when renamed)."""
    out = []
    for m in mail_policies.outgoing:
        names = [n for n in m.dlp_policies if n not in (old_name, new_name)]
        if new_name and m.name in chosen:
            at = m.dlp_policies.index(old_name) if old_name in m.dlp_policies else len(names)
            names.insert(min(at, len(names)), new_name)
        out.append(m.replace(dlp_policies=tuple(names)) if tuple(names) != m.dlp_policies else m)
    return mail_policies.replace(outgoing=tuple(out))


def _label(key: str) -> str:
    return DLP_CLASSIFIER_NAMES.get(key, key)


def _typed_from(policy: DlpPolicy, users: list[str]) -> dict:
    values = {f.name: str(getattr(policy, f.name)) for f in dataclasses.fields(DlpPolicy)
              if f.name not in ("classifiers",)}
    return {**values, "classifiers": list(policy.classifiers), "mail_policies": users}


def _policy_form(s, config, typed: dict, problems: Problems) -> str:
    num = lambda k, label: forms.text_field(k, label, typed.get(k, ""), problems, kind="text",  # noqa: E731
                                            help_text=forms.help_of(DlpPolicy, k) if k in ("min_confidence",
                                                                                           "min_matches") else "")
    chosen = set(typed.get("classifiers", []))
    boxes = "".join(forms.checkbox("classifiers", DLP_CLASSIFIER_NAMES[c], c in chosen, c, f"c-{c}")
                    for c in DLP_PREDEFINED)
    boxes += "".join(forms.checkbox("classifiers", f"{c.name} (custom)", c.name in chosen, c.name, f"c-custom-{i}")
                     for i, c in enumerate(config.dlp.classifiers))
    classifier_problem = (f'<span class="field-error" id="classifiers-error" role="alert">'
                          f'{esc(problems["classifiers"])}</span>' if "classifiers" in problems else "")
    actions = "".join(forms.select(f"action_{sev}", f"{sev.capitalize()} severity", [(a, a) for a in DLP_ACTIONS],
                                   typed.get(f"action_{sev}", ""), problems) for sev in DLP_SEVERITIES)
    attached = set(typed.get("mail_policies", []))
    mail = "".join(forms.checkbox("mail_policies", m.name, m.name in attached, m.name, f"m-{i}")
                   for i, m in enumerate(config.mail_policies.outgoing))
    template = typed.get("template", "")
    return (f'<form method="post" action="{PATH}/save" class="settings" novalidate>{csrf_field(s)}'
            f'<input type="hidden" name="original" value="{esc(typed.get("original", ""))}">'
            f'<input type="hidden" name="template" value="{esc(template)}">{forms.general(problems)}'
            + (f'<p>Template: {esc(DLP_TEMPLATE_NAMES[template])}</p>' if template in DLP_TEMPLATE_NAMES else "")
            + forms.text_field("name", "Policy name", typed.get("name", ""), problems)
            + f'<fieldset><legend>Classifiers</legend>{boxes}{classifier_problem}</fieldset>'
            + '<fieldset><legend>Matching</legend>' + num("min_confidence", "Minimum confidence (%)")
            + num("min_matches", "Minimum matches") + "</fieldset>"
            + '<fieldset><legend>Severity by risk factor</legend>' + num("medium_from", "Medium from")
            + num("high_from", "High from") + num("critical_from", "Critical from") + "</fieldset>"
            + f'<fieldset><legend>Actions</legend>{actions}</fieldset>'
            + f'<fieldset><legend>Apply to outgoing mail policies</legend>{mail}</fieldset>'
            + '<button type="submit">Submit</button></form>')
