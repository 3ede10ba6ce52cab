"""Who may run what. Role names are the appliance's (see config.schema.ROLES)."""

from __future__ import annotations

ADMINISTRATORS = "Administrators"
OPERATORS = "Operators"
READ_ONLY = "Read-Only Operators"
GUESTS = "Guests"
TECHNICIANS = "Technicians"
HELP_DESK = "Help Desk Users"

ALL = frozenset({ADMINISTRATORS, OPERATORS, READ_ONLY, GUESTS, TECHNICIANS, HELP_DESK})
#: Roles that may change the configuration (stage and commit).
CONFIGURE = frozenset({ADMINISTRATORS, OPERATORS})
#: Roles that may look at the configuration.
VIEW = frozenset({ADMINISTRATORS, OPERATORS, READ_ONLY, TECHNICIANS})
ADMIN_ONLY = frozenset({ADMINISTRATORS})

#: Batch keywords and the privilege names the authentication log uses.
KEYWORDS = {
    "admin": ADMINISTRATORS,
    "operator": OPERATORS,
    "readonly": READ_ONLY,
    "guest": GUESTS,
    "technician": TECHNICIANS,
    "helpdesk": HELP_DESK,
}
KEYWORD_OF = {role: kw for kw, role in KEYWORDS.items()}
DESCRIPTIONS = {
    ADMINISTRATORS: "Full access: every command, accounts and configuration.",
    OPERATORS: "Configuration changes, but no account management.",
    READ_ONLY: "View the configuration and status; no changes.",
    GUESTS: "Status and version only.",
    TECHNICIANS: "System upgrades and feature keys; view the configuration.",
    HELP_DESK: "Message tracking and quarantines; status only in the shell.",
}


def role_from_keyword(text: str) -> str | None:
    """'operator', 'Operators' or the list number 1-6 -> the role's name."""
    from asyncos_cli.config.schema import ROLES

    t = text.strip()
    if t.lower() in KEYWORDS:
        return KEYWORDS[t.lower()]
    for role in ROLES:
        if t.lower() == role.lower():
            return role
    if t.isdigit() and 1 <= int(t) <= len(ROLES):
        return ROLES[int(t) - 1]
    return None
