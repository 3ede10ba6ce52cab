"""domainkeysconfig: DKIM signing keys (generate, import, the DNS record to publish), signing profiles per domain,
and verification profiles."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import (
    DKIM_KEY_TYPES,
    DkimKey,
    DkimSigningProfile,
    DkimVerificationProfile,
)
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

VERIFY_FIELDS = field_options(DkimVerificationProfile, "fail", "temperror", "min_key_bits", "max_key_bits",
                              "max_signatures", "key_query_timeout", "clock_skew_seconds", "body_length",
                              "tempfail_code", "tempfail_text", "reject_code", "reject_text")
SIGN_FIELDS = field_options(DkimSigningProfile, "selector", "key", "canonicalization")
GRAMMAR = Grammar("domainkeysconfig", """
print
keys print
keys new NAME [--type=rsa|ed25519] [--bits=N]
keys import NAME --type=rsa|ed25519 --file=FILE
keys dnstxt NAME --selector=S --domain=D
keys delete NAME
profiles signing new DOMAIN --selector=S --key=NAME [--canonicalization=C] [--headers=H,H...]
profiles signing edit DOMAIN [--selector=S] [--key=NAME] [--canonicalization=C] [--headers=H,H...]
profiles signing delete DOMAIN
profiles verification new NAME [VERIFY]
profiles verification edit NAME [VERIFY]
profiles verification delete NAME
""", fields={"VERIFY": VERIFY_FIELDS},
    notes="Keys are sealed at rest and never printed; 'keys dnstxt' prints the TXT record to publish at "
          "SELECTOR._domainkey.DOMAIN. Mail received on a private listener whose From is in a signing profile's "
          "domain (or a subdomain) is signed when it is delivered. Changes are pending until commit.")


VERIFICATION = ListEditor("verification profile", "domainkeysconfig", lambda ctx: ctx.config.domainkeys.verification,
                          lambda p: p.name, line=lambda p: f"{p.name}: {_verification(p)}",
                          heading="Verification profiles:", stored_in=("domainkeys", "verification"))


@command("domainkeysconfig", "Configure DomainKeys/DKIM support.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    words = [w for w in args.positional]
    if not words:
        args.expect_done("domainkeysconfig")
        if ctx.batch:
            raise UsageError()
        return _wizard(ctx)
    head = [w.lower() for w in words[:2]]
    if head == ["print"] and len(words) == 1:
        args.expect_done("domainkeysconfig print")
        return _print(ctx)
    if head[:1] == ["keys"]:
        return _keys(ctx, args, words[1:])
    if head == ["profiles", "signing"]:
        return _signing(ctx, args, words[2:])
    if head == ["profiles", "verification"]:
        return _verification_profiles(ctx, args, words[2:])
    raise UsageError()


# ---------------------------------------------------------------- keys


def _keys(ctx, args, words: list[str]) -> None:
    op = words[0].lower() if words else "print"
    section = ctx.config.domainkeys
    if op == "print" and len(words) <= 1:
        args.expect_done("domainkeysconfig keys print")
        return _print_keys(ctx)
    if len(words) != 2:
        raise UsageError()
    name = words[1]
    if op == "new":
        kind = str(args.take_option("type") or "rsa")
        bits = args.take_typed((("bits", "bits", int),)).get("bits", 2048)
        args.expect_done("domainkeysconfig keys new")
        _refuse_existing(ctx, name)
        from scanning import dkim

        key = _made(lambda: DkimKey(name, kind, bits))  # the declaration checks type and size first
        private = dkim.generate(key.kind, key.bits)
        _stage(ctx, keys=section.keys + (key.replace(private_key=ctx.keyring.seal(private)),))
        return ctx.say(f"Key {name} generated ({_kind(key)}). Publish its record (domainkeysconfig keys dnstxt "
                       f"{name} --selector=S --domain=D), then commit.")
    if op == "import":
        kind = str(args.take_option("type") or "")
        path = args.take_option("file")
        args.expect_done("domainkeysconfig keys import")
        if kind not in DKIM_KEY_TYPES or not path or path is True:
            raise CommandError("domainkeysconfig keys import needs --type=rsa|ed25519 and --file=FILE")
        _refuse_existing(ctx, name)
        from scanning import dkim

        text = ctx.files.read_text(str(path), 64 * 1024)
        try:
            bits = dkim.check_private(kind, text)
        except ValueError as e:
            raise CommandError(f"{path}: {e}. Nothing was imported.") from None
        key = _made(lambda: DkimKey(name, kind, bits if kind == "rsa" else 2048, ctx.keyring.seal(text.strip())))
        _stage(ctx, keys=section.keys + (key,))
        return ctx.say(f"Key {name} imported ({_kind(key)}). Commit to apply.")
    if op == "dnstxt":
        selector, domain = args.take_option("selector"), args.take_option("domain")
        args.expect_done("domainkeysconfig keys dnstxt")
        key = _key(ctx, name)
        if not selector or not domain or selector is True or domain is True:
            raise CommandError("domainkeysconfig keys dnstxt needs --selector=S and --domain=D")
        _made(lambda: DkimSigningProfile(str(domain), str(selector), key.name))  # checks selector and domain
        from scanning import dkim

        record = dkim.public_record(key.kind, ctx.keyring.reveal(key.private_key))
        return ctx.say(dkim.zone_lines(str(selector), str(domain), record))
    if op == "delete":
        args.expect_done("domainkeysconfig keys delete")
        key = _key(ctx, name)
        users = [p.domain for p in section.signing if p.key.lower() == key.name.lower()]
        if users:
            raise CommandError(f"The key {key.name} signs for {', '.join(users)}: change those profiles first.")
        _stage(ctx, keys=tuple(k for k in section.keys if k is not key))
        return ctx.say(f"Key {key.name} deleted. Commit to apply.")
    raise UsageError()


def _key(ctx, name: str) -> DkimKey:
    key = ctx.config.domainkeys.key(name)
    if key is None or key.private_key is None:
        raise CommandError(f"There is no signing key named {name} ('domainkeysconfig keys print' lists them).")
    return key


def _refuse_existing(ctx, name: str) -> None:
    if ctx.config.domainkeys.key(name) is not None:
        raise CommandError(f"A signing key named {name} already exists.")


def _kind(key: DkimKey) -> str:
    return f"RSA {key.bits} bits" if key.kind == "rsa" else "ed25519, 256 bits"


# ---------------------------------------------------------------- signing profiles


def _signing(ctx, args, words: list[str]) -> None:
    if len(words) != 2 or words[0].lower() not in ("new", "edit", "delete"):
        raise UsageError()
    op, domain = words[0].lower(), words[1]
    section = ctx.config.domainkeys
    changes = args.take_fields(SIGN_FIELDS)
    headers = args.take_option("headers")
    if headers is not None:
        changes["headers"] = tuple(h.strip() for h in ("" if headers is True else str(headers)).split(",")
                                   if h.strip())
    args.expect_done(f"domainkeysconfig profiles signing {op}")
    current = next((p for p in section.signing if p.domain.lower() == domain.lower()), None)
    if "key" in changes:
        changes["key"] = _key(ctx, changes["key"]).name
    if op == "new":
        if current is not None:
            raise CommandError(f"{domain} already has a signing profile: use 'profiles signing edit'.")
        if "selector" not in changes or "key" not in changes:
            raise CommandError("domainkeysconfig profiles signing new needs --selector=S and --key=NAME")
        new = _made(lambda: DkimSigningProfile(domain, **changes))
        _stage(ctx, signing=section.signing + (new,))
        return ctx.say(f"Mail from {new.domain} will be signed: {_signing_line(new)}. Commit to apply.")
    if current is None:
        raise CommandError(f"{domain} has no signing profile ('domainkeysconfig print' lists them).")
    if op == "delete":
        if changes:
            raise UsageError()
        _stage(ctx, signing=tuple(p for p in section.signing if p is not current))
        return ctx.say(f"The signing profile for {current.domain} was deleted. Commit to apply.")
    new = _made(lambda: current.replace(**changes))
    _stage(ctx, signing=tuple(new if p is current else p for p in section.signing))
    ctx.say(f"Mail from {new.domain} will be signed: {_signing_line(new)}. Commit to apply.")


def _signing_line(p: DkimSigningProfile) -> str:
    return f"s={p.selector}, key {p.key}, c={p.canonicalization}, h={':'.join(p.headers)}"


def _verification_profiles(ctx, args, words: list[str]) -> None:
    op = words[0].lower() if words else ""
    if op not in ("new", "edit", "delete") or len(words) != 2:
        raise UsageError()
    changes = args.take_fields(VERIFY_FIELDS) if op != "delete" else {}
    args.expect_done(f"domainkeysconfig profiles verification {op}")
    if op == "new":
        return _new_verification(ctx, words[1], changes)
    current = VERIFICATION.find(ctx, words[1])
    if op == "delete":
        return _delete_verification(ctx, current)
    if not changes:
        raise UsageError()
    _put_verification(ctx, current, _made(lambda: current.replace(**changes)))


def _new_verification(ctx, name: str, changes: dict) -> None:
    VERIFICATION.refuse_duplicate(ctx, name)
    _put_verification(ctx, None, _made(lambda: DkimVerificationProfile(name, **changes)))


def _put_verification(ctx, old, new: DkimVerificationProfile) -> None:
    _made(lambda: VERIFICATION.put(ctx, old, new))
    ctx.say(f"Verification profile {new.name}: {_verification(new)}. Commit to apply.")


def _delete_verification(ctx, current: DkimVerificationProfile) -> None:
    if current.name == "DEFAULT":
        raise CommandError("The DEFAULT verification profile cannot be deleted.")
    users = ctx.config.hat.naming("dkim_profile", current.name)
    if users:
        raise CommandError(f"The verification profile {current.name} is used by the mail flow policies "
                           f"{', '.join(users)}: change them first (listenerconfig hostaccess policy NAME "
                           "--dkim-profile=...).")
    VERIFICATION.put(ctx, current, None)
    ctx.say(f"The verification profile {current.name} was deleted. Commit to apply.")


#: The wizard's questions of a verification profile, each answered and checked by the field it sets.
VERIFY_QUESTIONS = (
    ("min_key_bits", "What is the smallest key that should be accepted (bits)?"),
    ("max_key_bits", "What is the largest key that should be accepted (bits)?"),
    ("max_signatures", "Enter the maximum number of signatures in a message to verify."),
    ("key_query_timeout", "How long to wait for a key query (seconds)?"),
    ("clock_skew_seconds", "Enter the maximum allowed time difference (in seconds) between the sender's and the "
                           "verifier's system time."),
)


def _ask_verification(p, current: DkimVerificationProfile) -> dict:
    changes = {name: p.ask_setting(question, DkimVerificationProfile, name, getattr(current, name))
               for name, question in VERIFY_QUESTIONS}
    changes["body_length"] = p.yes_no("Do you want to use the body length parameter?", current.body_length)
    actions = ["accept", "tempfail", "reject"]
    words = ["Accept", "Tempfail", "Reject"]
    for name, question in (("temperror", "What should happen to a message whose key could not be fetched "
                                         "(a temporary failure)?"),
                           ("fail", "What should happen to a message whose DKIM signatures fail (a permanent "
                                    "failure)?")):
        changes[name] = actions[p.choose(question, words, actions.index(getattr(current, name)))]
    for action, what in (("tempfail", "temporary"), ("reject", "permanent")):
        if action in (changes["temperror"], changes["fail"]) and p.yes_no(
                f"Would you like to change the SMTP response for the {action.upper()} action?", False):
            changes[f"{action}_code"] = p.ask_setting(f"Enter the SMTP response code for a {what} failure.",
                                                      DkimVerificationProfile, f"{action}_code",
                                                      getattr(current, f"{action}_code"))
            changes[f"{action}_text"] = p.ask_setting(f"Enter the SMTP response text for a {what} failure.",
                                                      DkimVerificationProfile, f"{action}_text",
                                                      getattr(current, f"{action}_text"))
    return changes


def _verification_wizard(ctx) -> None:
    p = ctx.prompter

    def new(ctx) -> None:
        name = p.ask("Enter the name of the new DKIM verification profile:")
        VERIFICATION.refuse_duplicate(ctx, name)
        _new_verification(ctx, name, _ask_verification(p, DkimVerificationProfile(name)))

    def edit(ctx, current) -> None:
        _put_verification(ctx, current, _made(lambda: current.replace(**_ask_verification(p, current))))

    VERIFICATION.menu(ctx, VERIFICATION.standard(new, edit, _delete_verification))


def _verification(p: DkimVerificationProfile) -> str:
    return (f"fail: {p.fail}, temperror: {p.temperror}, keys of {p.min_key_bits} to {p.max_key_bits} bits, at "
            f"most {p.max_signatures} signatures per message, key query timeout {p.key_query_timeout} s, clock "
            f"skew {p.clock_skew_seconds} s, body length "
            f"(l=) {'used' if p.body_length else 'not used'}; tempfail reply \"{p.tempfail_code} {p.tempfail_text}\", "
            f"reject reply \"{p.reject_code} {p.reject_text}\"")


# ---------------------------------------------------------------- shared


def _made(make):
    try:
        return make()
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _stage(ctx, **changes) -> None:
    try:
        ctx.replace_section("domainkeys", **changes)
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _print_keys(ctx) -> None:
    keys = ctx.config.domainkeys.keys
    if not keys:
        ctx.say("There are no signing keys.")
    for i, k in enumerate(keys, 1):
        ctx.say(f"{i}. {k.name} ({_kind(k)})")


def _print(ctx) -> None:
    section = ctx.config.domainkeys
    ctx.say("Signing keys:")
    _print_keys(ctx)
    ctx.say("Signing profiles:")
    if not section.signing:
        ctx.say("There are no signing profiles.")
    for p in section.signing:
        ctx.say(f"  {p.domain}: {_signing_line(p)}")
    ctx.say("Verification profiles:")
    for p in section.verification:
        ctx.say(f"  {p.name}: {_verification(p)}")


def _wizard(ctx) -> None:
    from asyncos_cli.shell.args import Args

    p = ctx.prompter
    while True:
        _print(ctx)
        ctx.say()
        op = p.menu([("KEYS", "Create a signing key."), ("SIGNING", "Create a signing profile."),
                     ("DNSTXT", "Print the DNS record of a key."), ("VERIFICATION", "Manage verification "
                                                                       "profiles.")])
        if op is None:
            return
        try:
            if op == "KEYS":
                kind = DKIM_KEY_TYPES[p.choose("Choose the key type:", ["RSA (rsa-sha256)", "Ed25519 "
                                                                       "(ed25519-sha256)"], 0)]
                run(ctx, Args(["keys", "new", p.ask("Enter a name for the key:")], {"type": kind}))
            elif op == "SIGNING":
                domain = p.ask("Enter the domain name:")
                run(ctx, Args(["profiles", "signing", "new", domain],
                              {"selector": p.ask("Enter the selector:"), "key": p.ask("Enter the key name:")}))
            elif op == "DNSTXT":
                run(ctx, Args(["keys", "dnstxt", p.ask("Enter the key name:")],
                              {"selector": p.ask("Enter the selector:"), "domain": p.ask("Enter the domain:")}))
            else:
                _verification_wizard(ctx)
        except (CommandError, ConfigError) as e:
            p.error(str(e))
