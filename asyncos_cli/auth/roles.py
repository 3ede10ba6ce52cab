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
