"""userconfig: accounts, roles, passphrase policy, account status.

Accounts and roles are configuration (pending until commit); passphrases and
locks are state (in effect at once), as on the appliance.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError, declaration, rule_problem
from asyncos_cli.config.schema import ROLES, UserAccount
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.newpassphrase import ask_new_passphrase, store_passphrase

OPERATIONS = [
    ("NEW", "Create a new account."),
    ("EDIT", "Modify an account."),
    ("DELETE", "Remove an account."),
    ("POLICY", "Change passphrase and account policy settings."),
    ("PASSPHRASE", "Change the passphrase for a user."),
    ("ROLE", "List the user roles."),
    ("STATUS", "Change the account status."),
]

GRAMMAR = Grammar("userconfig", """
list | print
new NAME --fullname=TEXT --role=ROLE (--passphrase=P | --passphrase-file=FILE | --generate)
add NAME FULLNAME ROLE PASSPHRASE        (the appliance's form)
edit NAME [--fullname=TEXT] [--role=ROLE]
delete NAME
passphrase NAME (--passphrase=P | --passphrase-file=FILE | --generate)
status NAME [--lock | --unlock]
policy passwordstrength [--min-length=N] [--require-upper-lower=yes|no] [--require-number=yes|no]
      [--require-special=yes|no] [--reject-username=yes|no] [--reject-repetitive-sequential=yes|no]
      [--history=N] [--banned-words=WORD,WORD]
policy account [--lockout=yes|no] [--lockout-attempts=N] [--expiry=yes|no] [--expiry-days=N]
      [--reminder-days=N] [--grace=yes|no] [--grace-days=N] [--reset-after-admin-set=yes|no]
role                                     (lists the roles)
""", names=lambda c: [x.name for x in c.users.accounts],
    notes="""\
ROLE: admin, operator, readonly, guest, technician, helpdesk""")
USAGE = GRAMMAR.usage()

@command(
    "userconfig",
    "Manage user accounts and connections to external authentication sources.",
    roles=R.ADMIN_ONLY,
    secret_positions=(4,),  # the appliance's `userconfig add NAME FULLNAME GROUP PASSPHRASE`
    grammar=GRAMMAR,
)
def run(ctx, args):
    sub = args.subcommand()
    handler = BATCH.get(sub)
    if handler is None:
        raise CommandError(f"Unknown option '{sub}'.\n{USAGE}")
    handler(ctx, args, args.positional[1:])


# ------------------------------------------------------------ shared rules


def _users(ctx):
    return ctx.config.users


def _stage_accounts(ctx, accounts) -> None:
    try:
        ctx.stage(_users(ctx).replace(accounts=tuple(accounts)))
    except ConfigError as e:
        if "Administrators" in str(e):
            raise CommandError("The last administrator cannot be removed or demoted.") from None
        raise CommandError(str(e)) from None


USERS = ListEditor("user", "userconfig", lambda ctx: ctx.config.users.accounts, lambda a: a.name, ignore_case=False)


def _account(ctx, name: str) -> UserAccount:
    """By name, or by its number in 'userconfig print'."""
    try:
        return USERS.find(ctx, name)
    except CommandError:
        raise CommandError(f"User {name} does not exist.") from None


def _role(text) -> str:
    role = R.role_from_keyword(str(text))
    if role is None:
        raise CommandError(f"Unknown role {text!r}; roles: {', '.join(R.KEYWORDS)}")
    return role


def _set_passphrase(ctx, name: str, passphrase: str, by_admin: bool) -> None:
    store_passphrase(ctx, name, passphrase, by_admin=by_admin)


def _batch_passphrase(ctx, args, name: str, command: str | None = None) -> tuple[str, bool]:
    """(passphrase, generated) from --passphrase, --passphrase-file or --generate; with ``command``, an option
    nobody reads is reported by name before any missing one (a typo is the likelier mistake)."""
    generate = args.take_option("generate", False)
    given = args.secret("passphrase", ctx)
    if command is not None:
        args.expect_done(command)
    if bool(generate) == (given is not None):
        raise CommandError("give exactly one of --passphrase=P, --passphrase-file=FILE or --generate")
    if generate:
        from asyncos_cli.auth.generator import generate as make

        return make(ctx.config.passphrase_policy, name), True
    return given, False


def _show_generated(ctx, name: str, passphrase: str) -> None:
    ctx.say(f"This is your system generated passphrase for {name}: {passphrase}")
    ctx.say("It is shown only once: keep it somewhere safe.")


# ------------------------------------------------------------ batch forms


def _list(ctx, args, rest):
    args.expect_done("userconfig list")
    _print_users(ctx)


def _print_users(ctx):
    ctx.say("Users:")
    for i, a in enumerate(_users(ctx).accounts, 1):
        st = ctx.accounts.status(a.name)
        ctx.say(f"{i}. {a.name} - \"{a.full_name}\" ({a.role}) {st.label}")


def _new(ctx, args, rest):
    if args.subcommand() == "add" and len(rest) == 4 and not args.options:
        # The appliance's positional form: add NAME FULLNAME GROUP PASSPHRASE
        name, full, group, passphrase = rest
        generated = False
        role = _role(group)
    else:
        if len(rest) != 1:
            raise UsageError()
        name = rest[0]
        full = args.take_option("fullname")
        role_opt = args.take_option("role")
        passphrase, generated = _batch_passphrase(ctx, args, name, "userconfig new")
        if not full or full is True or not role_opt or role_opt is True:
            raise CommandError("userconfig new needs --fullname=TEXT and --role=ROLE")
        role = _role(role_opt)
    _create(ctx, name, str(full), role, passphrase)
    if generated:
        _show_generated(ctx, name, passphrase)


def _create(ctx, name, full, role, passphrase):
    if _users(ctx).get(name):
        raise CommandError(f"User {name} already exists.")
    try:
        account = UserAccount(name, full, role)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    problems = ctx.accounts.check(name, passphrase, ctx.config.passphrase_policy)
    if problems:
        raise CommandError("Passphrase refused: " + " ".join(problems))
    _stage_accounts(ctx, [*_users(ctx).accounts, account])
    _set_passphrase(ctx, name, passphrase, by_admin=True)
    ctx.say(f"User {name} created with role {role}; commit to activate the account.")


def _edit(ctx, args, rest):
    if len(rest) != 1:
        raise UsageError()
    acc = _account(ctx, rest[0])
    full = args.take_option("fullname", acc.full_name)
    role = _role(args.take_option("role")) if "role" in args.options else acc.role
    args.expect_done("userconfig edit")
    _replace(ctx, acc, acc.replace(full_name=str(full), role=role))


def _replace(ctx, old, new):
    if old.name == ctx.user and new.role != old.role and old.role == R.ADMINISTRATORS:
        raise CommandError("You cannot change your own role.")
    _stage_accounts(ctx, [new if a.name == old.name else a for a in _users(ctx).accounts])
    ctx.say(f"User {new.name} changed; commit to apply.")


def _delete(ctx, args, rest):
    args.expect_done("userconfig delete")
    if len(rest) != 1:
        raise UsageError()
    _remove(ctx, _account(ctx, rest[0]))


def _remove(ctx, acc):
    if acc.name == ctx.user:
        raise CommandError("You cannot delete yourself.")
    _stage_accounts(ctx, [a for a in _users(ctx).accounts if a.name != acc.name])
    ctx.say(f"User {acc.name} deleted; commit to apply.")


def _passphrase(ctx, args, rest):
    if len(rest) != 1:
        raise UsageError()
    acc = _account(ctx, rest[0])
    passphrase, generated = _batch_passphrase(ctx, args, acc.name)
    args.expect_done("userconfig passphrase")
    _set_passphrase(ctx, acc.name, passphrase, by_admin=acc.name != ctx.user)
    ctx.say(f"The passphrase of {acc.name} has been changed; it is in effect now (no commit needed).")
    if generated:
        _show_generated(ctx, acc.name, passphrase)


def _status(ctx, args, rest):
    if len(rest) != 1:
        raise UsageError()
    acc = _account(ctx, rest[0])
    lock, unlock = args.take_option("lock", False), args.take_option("unlock", False)
    args.expect_done("userconfig status")
    if lock and unlock:
        raise CommandError("give --lock or --unlock, not both")
    if lock or unlock:
        _set_lock(ctx, acc.name, bool(lock))
    st = ctx.accounts.status(acc.name)
    ctx.say(f"Account {acc.name}: {st.label} (failed attempts since last login: {st.failures})")


def _set_lock(ctx, name: str, locked: bool) -> None:
    if locked and name == ctx.user:
        raise CommandError("You cannot lock your own account.")
    from asyncos_cli.events.auth import AccountLockChanged

    ctx.accounts.set_locked(name, locked)
    ctx.emit(AccountLockChanged(name, locked, ctx.user, ctx.origin))
    ctx.say(f"Account {name} {'locked' if locked else 'unlocked'}; in effect now (no commit needed).")


BOOL_OPTIONS_STRENGTH = {
    "require-upper-lower": "require_upper_lower",
    "require-number": "require_number",
    "require-special": "require_special",
    "reject-username": "reject_similar_to_username",
    "reject-repetitive-sequential": "reject_repetitive_sequential",
}
INT_OPTIONS_STRENGTH = {"min-length": "min_length", "history": "history_count"}
BOOL_OPTIONS_ACCOUNT = {
    "lockout": "lockout_enabled",
    "expiry": "expiry_enabled",
    "grace": "grace_enabled",
    "reset-after-admin-set": "reset_after_admin_set",
}
INT_OPTIONS_ACCOUNT = {
    "lockout-attempts": "lockout_attempts",
    "expiry-days": "expiry_days",
    "reminder-days": "reminder_days",
    "grace-days": "grace_days",
}


def _policy(ctx, args, rest):
    from asyncos_cli.config.fields import parse_scalar

    kind = rest[0].lower() if rest else None
    if kind == "passwordstrength":
        bools, ints = BOOL_OPTIONS_STRENGTH, INT_OPTIONS_STRENGTH
    elif kind == "account":
        bools, ints = BOOL_OPTIONS_ACCOUNT, INT_OPTIONS_ACCOUNT
    else:
        raise CommandError("Usage: userconfig policy passwordstrength|account --SETTING=VALUE ...")
    changes = {}
    for opt, field_name in bools.items():
        if opt in args.options:
            changes[field_name] = parse_scalar(bool, str(args.take_option(opt)), f"--{opt}")
    for opt, field_name in ints.items():
        if opt in args.options:
            changes[field_name] = parse_scalar(int, str(args.take_option(opt)), f"--{opt}")
    if kind == "passwordstrength" and "banned-words" in args.options:
        words = str(args.take_option("banned-words"))
        changes["banned_words"] = tuple(w.strip() for w in words.split(",") if w.strip())
    args.expect_done(f"userconfig policy {kind}")
    if not changes:
        raise CommandError("Nothing to change: give at least one --SETTING=VALUE (see 'help userconfig').")
    ctx.replace_section("passphrase_policy", **changes)
    _print_policy(ctx)


def _roles(ctx, args, rest):
    args.expect_done("userconfig role")
    _print_roles(ctx)


def _print_roles(ctx):
    for i, role in enumerate(ROLES, 1):
        ctx.say(f"{i}. {role} ({R.KEYWORD_OF[role]}): {R.DESCRIPTIONS[role]}")
    ctx.say("Custom roles are not supported yet.")


BATCH = {
    "list": _list,
    "print": _list,
    "new": _new,
    "add": _new,
    "edit": _edit,
    "delete": _delete,
    "passphrase": _passphrase,
    "status": _status,
    "policy": _policy,
    "role": _roles,
}


def _print_policy(ctx):
    p = ctx.config.passphrase_policy
    yn = lambda b: "Yes" if b else "No"  # noqa: E731
    ctx.say("Passphrase strength:")
    ctx.say(f"  Minimum length: {p.min_length}")
    ctx.say(f"  Upper and lower case letters required: {yn(p.require_upper_lower)}")
    ctx.say(f"  A number required: {yn(p.require_number)}")
    ctx.say(f"  A special character required: {yn(p.require_special)}")
    ctx.say(f"  Reject passphrases similar to the username: {yn(p.reject_similar_to_username)}")
    ctx.say(f"  Reject three or more repetitive or sequential characters: {yn(p.reject_repetitive_sequential)}")
    ctx.say(f"  Recent passphrases not allowed: {p.history_count}")
    ctx.say(f"  Banned words: {', '.join(p.banned_words) or 'none'}")
    ctx.say("Account policy:")
    ctx.say(f"  Lock after failed logins: {yn(p.lockout_enabled)} ({p.lockout_attempts} attempts)")
    ctx.say(f"  Passphrase expiry: {yn(p.expiry_enabled)} ({p.expiry_days} days, reminder {p.reminder_days} days)")
    ctx.say(f"  Grace period: {yn(p.grace_enabled)} ({p.grace_days} days)")
    ctx.say(f"  Passphrase reset after an administrator sets it: {yn(p.reset_after_admin_set)}")


# ------------------------------------------------------------ the wizard


def wizard(ctx):
    p = ctx.prompter
    while True:
        _print_users(ctx)
        op = p.menu(OPERATIONS)
        if op is None:
            return
        if op == "ROLE":
            _print_roles(ctx)
        elif op == "POLICY":
            _policy_wizard(ctx)
        elif op == "NEW":
            ctx.reauthenticate()
            name = p.ask("Enter the new username.", validate=lambda n: (
                f"User {n} already exists." if _users(ctx).get(n) else _name_problem(n)))
            full = p.ask(f"Enter the full name for {name}.")
            role = ROLES[p.choose(f"Assign a role to \"{name}\":", list(ROLES), default=0)]
            passphrase = _ask_new_passphrase(ctx, name)
            _create(ctx, name, full, role, passphrase)
        elif op == "EDIT":
            ctx.reauthenticate()
            acc = _pick(ctx, "Enter the user name or number to edit.")
            full = p.ask(f"Enter the full name for {acc.name}.", default=acc.full_name)
            role = ROLES[p.choose(f"Assign a role to \"{acc.name}\":", list(ROLES), default=ROLES.index(acc.role))]
            if p.yes_no("Do you want to change the passphrase?", False):
                _set_passphrase(ctx, acc.name, _ask_new_passphrase(ctx, acc.name), by_admin=acc.name != ctx.user)
            _replace(ctx, acc, acc.replace(full_name=full, role=role))
        elif op == "DELETE":
            acc = _pick(ctx, "Enter the user name or number to delete.")
            ctx.reauthenticate()
            if p.yes_no(f"Are you sure you want to delete \"{acc.name}\"?", False):
                _remove(ctx, acc)
        elif op == "PASSPHRASE":
            ctx.reauthenticate()
            acc = _pick(ctx, "Enter the username or number to change the passphrase for.")
            _set_passphrase(ctx, acc.name, _ask_new_passphrase(ctx, acc.name), by_admin=acc.name != ctx.user)
            ctx.say(f"The passphrase of {acc.name} has been changed; it is in effect now (no commit needed).")
        elif op == "STATUS":
            ctx.reauthenticate()
            acc = _pick(ctx, "Enter the user name or number to change the status of.")
            st = ctx.accounts.status(acc.name)
            ctx.say(f"Account {acc.name} is {st.label}.")
            if st.locked and p.yes_no(f"Do you want to unlock the account {acc.name}?", True):
                _set_lock(ctx, acc.name, False)
            elif not st.locked and p.yes_no(f"Do you want to lock the account {acc.name}?", False):
                _set_lock(ctx, acc.name, True)


def _name_problem(name: str) -> str | None:
    """The user name's own rule, from its field declaration."""
    return rule_problem(declaration(UserAccount, "name").metadata, name)


def _pick(ctx, question: str) -> UserAccount:
    accounts = _users(ctx).accounts

    def find(text):
        if _users(ctx).get(text):
            return _users(ctx).get(text)
        if text.isdigit() and 1 <= int(text) <= len(accounts):
            return accounts[int(text) - 1]
        return None

    answer = ctx.prompter.ask(question, validate=lambda t: None if find(t) else f"User {t} does not exist.")
    return find(answer)


def _ask_new_passphrase(ctx, name: str) -> str:
    return ask_new_passphrase(ctx, name, question=f"Enter the passphrase for {name}.")


def _policy_wizard(ctx):
    p = ctx.prompter
    op = p.menu([("PASSWORDSTRENGTH", "Configure passphrase strength."),
                 ("ACCOUNT", "Configure user account policy.")])
    cur = ctx.config.passphrase_policy
    if op == "PASSWORDSTRENGTH":
        changes = dict(
            min_length=p.ask_int("Enter the minimum number of characters for passphrases.", cur.min_length, 6, 128),
            require_upper_lower=p.yes_no("Require at least one upper (A-Z) and one lower (a-z) case letter?",
                                         cur.require_upper_lower),
            require_number=p.yes_no("Require at least one number (0-9)?", cur.require_number),
            require_special=p.yes_no("Require at least one special character?", cur.require_special),
            reject_similar_to_username=p.yes_no("Reject passphrases similar to the username?",
                                                cur.reject_similar_to_username),
            reject_repetitive_sequential=p.yes_no(
                "Reject passphrases that contain three or more repetitive or sequential characters?",
                cur.reject_repetitive_sequential),
        )
        if p.yes_no("Ban reuse of the most recent passphrases?", cur.history_count > 0):
            changes["history_count"] = p.ask_int("Enter the number of most recent passphrases not allowed.",
                                                 cur.history_count or 3, 1, 20)
        else:
            changes["history_count"] = 0
        if p.yes_no("Do you want to use a list of words to disallow in passphrases?", bool(cur.banned_words)):
            words = p.ask("Enter the words to disallow, separated by commas.", ",".join(cur.banned_words) or None)
            changes["banned_words"] = tuple(w.strip() for w in words.split(",") if w.strip())
        else:
            changes["banned_words"] = ()
        ctx.replace_section("passphrase_policy", **changes)
    elif op == "ACCOUNT":
        changes = {}
        changes["lockout_enabled"] = p.yes_no(
            "Would you like to automatically lock account after a number of unsuccessful login attempts?",
            cur.lockout_enabled)
        if changes["lockout_enabled"]:
            changes["lockout_attempts"] = p.ask_int("Enter the number of unsuccessful login attempts.",
                                                    cur.lockout_attempts, 2, 99)
        changes["expiry_enabled"] = p.yes_no("Would you like to enable passphrase expiration?", cur.expiry_enabled)
        if changes["expiry_enabled"]:
            changes["expiry_days"] = p.ask_int("Enter the passphrase expiration period in days.", cur.expiry_days, 1, 366)
            changes["reminder_days"] = p.ask_int(
                "Enter the number of days before expiration that a reminder will be printed.",
                min(cur.reminder_days, changes["expiry_days"] - 1), 0, changes["expiry_days"] - 1)
            changes["grace_enabled"] = p.yes_no("Would you like to enable passphrase grace period?", cur.grace_enabled)
            if changes["grace_enabled"]:
                changes["grace_days"] = p.ask_int("Enter the grace period in days.", cur.grace_days, 1, 90)
        changes["reset_after_admin_set"] = p.yes_no(
            "Would you like to require a passphrase reset after an administrator sets a user's passphrase?",
            cur.reset_after_admin_set)
        ctx.replace_section("passphrase_policy", **changes)
    if op:
        _print_policy(ctx)

