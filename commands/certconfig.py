"""certconfig: certificates (import, paste, new self-signed and S/MIME, export, delete) and CA lists.

Private keys are sealed at rest with the configuration key. FQDN checks
accept internationalised names (U-labels are converted with idna) and say
exactly what is wrong with a refused one. A certificate a listener uses
cannot be deleted.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import Certificate, CustomCa
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

#: A certificate bundle or CA list is a few kilobytes; anything far larger is not one.
MAX_PEM_BYTES = 1024 * 1024

GRAMMAR = Grammar("certconfig", """
print
certificate print [NAME]
certificate import NAME FILE [--passphrase=P | --passphrase-file=F] [--check-fqdn=yes|no]
      [--allow-expired=yes]   (refused: RSA under 2048 bits, DSA, not yet valid, expired unless allowed)
      (FILE: PKCS#12, or PEM holding the certificate, intermediates and private key)
certificate new NAME --cn=NAME [--org=O] [--unit=U] [--locality=L] [--state=S] [--country=CC]
      [--days=N] [--key-size=2048|4096] [--smime-email=ADDR] [--check-fqdn=yes|no]
certificate edit NAME --rename=NEWNAME
certificate export NAME FILE (--passphrase=P | --passphrase-file=F)     (PKCS#12)
certificate delete NAME
certauthority custom print | enable | disable | export FILE | delete NAME
certauthority custom import NAME FILE [--check-fqdn=cn|san|both|no]
certauthority system print | enable | disable
""",
    names=lambda c: [x.name for x in (*c.certificates.certificates, *c.certificates.custom_cas)])

NEW_OPTIONS = (("cn", "common_name", str), ("org", "organization", str), ("unit", "unit", str),
               ("locality", "locality", str), ("state", "state", str), ("country", "country", str),
               ("days", "days", int), ("key-size", "key_size", int), ("smime-email", "email", str))


def _certs():
    from asyncos_cli.services import certificates

    return certificates


@command("certconfig", "Configure security certificates and keys.", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub == "certificate" and rest:
        return _certificate(ctx, args, rest[0].lower(), rest[1:])
    if sub == "certauthority" and len(rest) >= 2:
        return _authority(ctx, args, rest[0].lower(), rest[1].lower(), rest[2:])
    raise UsageError()


# ---------------------------------------------------------------- certificates


def _certificate(ctx, args, op: str, rest: list[str]) -> None:
    certs = _certs()
    if op == "print" and len(rest) <= 1:
        args.expect_done("certconfig certificate print")
        return _print_certificates(ctx, rest[0] if rest else None)
    if op == "import" and len(rest) == 2:
        passphrase = args.secret("passphrase", ctx)
        check = args.take_typed((("check-fqdn", "check", bool),)).get("check", True)
        allow_expired = args.take_typed((("allow-expired", "allow", bool),)).get("allow", False)
        args.expect_done("certconfig certificate import")
        data = ctx.files.read_bytes(rest[1], MAX_PEM_BYTES)
        try:
            chain, key = certs.read_bundle(data, passphrase)
        except certs.CertificateProblem as e:
            raise CommandError(f"The certificate cannot be imported: {e}") from None
        return _add(ctx, rest[0], chain, key, "server", check, allow_expired)
    if op == "new" and len(rest) == 1:
        fields = {"organization": "", "unit": "", "locality": "", "state": "", "country": "US", "days": 3650,
                  "key_size": 2048, "email": None}
        fields.update(args.take_typed(NEW_OPTIONS))
        check = args.take_typed((("check-fqdn", "check", bool),)).get("check", True)
        args.expect_done("certconfig certificate new")
        if not fields.get("common_name"):
            raise CommandError("certconfig certificate new needs --cn=NAME")
        return _new(ctx, rest[0], fields, check)
    if op == "edit" and len(rest) == 1:
        new_name = args.take_option("rename")
        args.expect_done("certconfig certificate edit")
        if not new_name or new_name is True:
            raise CommandError("certconfig certificate edit needs --rename=NEWNAME")
        return _rename(ctx, rest[0], str(new_name))
    if op == "export" and len(rest) == 2:
        passphrase = args.secret("passphrase", ctx)
        args.expect_done("certconfig certificate export")
        if not passphrase:
            raise CommandError("the exported file needs --passphrase=P or --passphrase-file=F")
        return _export(ctx, rest[0], rest[1], passphrase)
    if op == "delete" and len(rest) == 1:
        args.expect_done("certconfig certificate delete")
        return _delete(ctx, rest[0])
    raise UsageError()


def _get(ctx, name: str) -> Certificate:
    cert = ctx.config.certificates.get(name)
    if cert is None:
        raise CommandError(f"There is no certificate named {name} ('certconfig certificate print' lists them).")
    return cert


def _add(ctx, name: str, chain: str, key: str, kind: str, check_fqdn: bool, allow_expired: bool = False) -> None:
    certs = _certs()
    try:
        warnings = certs.check_importable(chain, allow_expired)
        certs.check_pair(chain, key)
        if check_fqdn:
            certs.check_fqdn(chain, "cn")
    except certs.CertificateProblem as e:
        raise CommandError(f"The certificate cannot be used: {e}") from None
    if ctx.config.certificates.get(name) is not None:
        raise CommandError(f"A certificate named {name} already exists.")
    try:
        entry = Certificate(name, chain, ctx.keyring.seal(key), kind)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.replace_section("certificates", certificates=(*ctx.config.certificates.certificates, entry))
    for label, value in certs.describe(chain)[:4]:
        ctx.say(f"{label}: {value}")
    for w in warnings:
        ctx.say(w)
    ctx.say(f"The certificate {name} was added; use listenerconfig edit LISTENER --certificate={name} and commit.")


def _new(ctx, name: str, fields: dict, check_fqdn: bool) -> None:
    certs = _certs()
    if check_fqdn and not fields.get("email"):
        problem = certs.fqdn_problem(fields["common_name"])
        if problem:
            raise CommandError(f"The Common Name is not in FQDN format: {problem}")
    if fields["key_size"] not in (2048, 4096):
        raise CommandError("the key size must be 2048 or 4096")
    try:
        chain, key = certs.make_self_signed(**fields)
    except (certs.CertificateProblem, ValueError) as e:
        raise CommandError(f"The certificate cannot be made: {e}") from None
    _add(ctx, name, chain, key, "smime" if fields.get("email") else "server", False)


def _rename(ctx, name: str, new_name: str) -> None:
    cert = _get(ctx, name)
    if ctx.config.certificates.get(new_name) is not None:
        raise CommandError(f"A certificate named {new_name} already exists.")
    users = _users(ctx, cert.name)
    if users:
        raise CommandError(f"The certificate {cert.name} is used by {', '.join(users)}: it cannot be renamed.")
    try:
        renamed = cert.replace(name=new_name)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.replace_section("certificates", certificates=tuple(renamed if c is cert else c for c in ctx.config.certificates.certificates))
    ctx.say(f"The certificate {cert.name} is now named {new_name}.")


def _export(ctx, name: str, path: str, passphrase: str) -> None:
    cert = _get(ctx, name)
    data = _certs().to_pkcs12(cert.name, cert.certificate, ctx.keyring.reveal(cert.private_key), passphrase)
    ctx.files.write_bytes(path, data)
    ctx.say(f"The certificate {cert.name} and its key were exported to {ctx.files.shown(path)} (PKCS#12).")


def _users(ctx, name: str) -> list[str]:
    return [f"listener {l.name}" for l in ctx.config.listeners.listeners if l.certificate.lower() == name.lower()]


def _delete(ctx, name: str) -> None:
    cert = _get(ctx, name)
    users = _users(ctx, cert.name)
    if users:
        raise CommandError(f"The certificate {cert.name} is in use by {', '.join(users)} and cannot be deleted.")
    ctx.replace_section("certificates", certificates=tuple(c for c in ctx.config.certificates.certificates if c is not cert))
    ctx.say(f"The certificate {cert.name} was deleted.")


def _print_certificates(ctx, name: str | None) -> None:
    certs = _certs()
    chosen = [_get(ctx, name)] if name else list(ctx.config.certificates.certificates)
    if not chosen:
        ctx.say("No certificates are defined: listeners present the demonstration certificate.")
        return
    for c in chosen:
        users = _users(ctx, c.name)
        ctx.say(f"{c.name} ({'S/MIME' if c.kind == 'smime' else 'TLS'}; used by {', '.join(users) or 'nothing'})")
        for label, value in certs.describe(c.certificate):
            ctx.say(f"  {label}: {value}")


# ---------------------------------------------------------------- certificate authorities


def _authority(ctx, args, which: str, op: str, rest: list[str]) -> None:
    if which == "system" and not rest and op in ("print", "enable", "disable"):
        args.expect_done(f"certconfig certauthority system {op}")
        return _system_cas(ctx, op)
    if which != "custom":
        raise UsageError()
    if op == "import" and len(rest) == 2:
        which_names = str(args.take_option("check-fqdn", "no")).lower()
        args.expect_done("certconfig certauthority custom import")
        if which_names not in ("cn", "san", "both", "no"):
            raise CommandError("--check-fqdn takes cn, san, both or no")
        return _import_ca(ctx, rest[0], rest[1], which_names)
    args.expect_done(f"certconfig certauthority custom {op}")
    handler, arity = _CUSTOM_CA.get(op, (None, 0))
    if handler is None or len(rest) != arity:
        raise UsageError()
    handler(ctx, *rest)


def _system_cas(ctx, op: str) -> None:
    if op == "print":
        from asyncos_cli.services.tlsverify import SYSTEM_CA_BUNDLE, _system_roots

        ctx.say(f"System CA list: {'enabled' if ctx.config.certificates.system_ca_enabled else 'disabled'} "
                f"({len(_system_roots())} certificates from {SYSTEM_CA_BUNDLE})")
        return
    ctx.replace_section("certificates", system_ca_enabled=op == "enable")
    ctx.say(f"The system CA list is {op}d.")


def _switch_custom(ctx, on: bool) -> None:
    ctx.replace_section("certificates", custom_ca_enabled=on)
    ctx.say(f"The custom CA list is {'enabled' if on else 'disabled'}.")


def _print_custom(ctx) -> None:
    section = ctx.config.certificates
    ctx.say(f"Custom CA list: {'enabled' if section.custom_ca_enabled else 'disabled'}")
    for ca in section.custom_cas:
        subject = dict(_certs().describe(ca.certificate))["Subject"]
        ctx.say(f"  {ca.name}: {subject}")


def _export_custom(ctx, path: str) -> None:
    cas = ctx.config.certificates.custom_cas
    ctx.files.write_text(path, "".join(ca.certificate for ca in cas))
    ctx.say(f"{len(cas)} certificate authorities exported to {ctx.files.shown(path)}.")


CUSTOM_CAS = ListEditor("custom certificate authority", "certconfig certauthority custom",
                        lambda ctx: ctx.config.certificates.custom_cas, lambda ca: ca.name)


def _delete_custom(ctx, name: str) -> None:
    found = CUSTOM_CAS.find(ctx, name)
    cas = ctx.config.certificates.custom_cas
    ctx.replace_section("certificates", custom_cas=tuple(ca for ca in cas if ca is not found))
    ctx.say(f"The certificate authority {found.name} was deleted.")


#: certauthority custom operations: (handler, the number of arguments).
_CUSTOM_CA = {"enable": (lambda ctx: _switch_custom(ctx, True), 0), "disable": (lambda ctx: _switch_custom(ctx, False), 0),
              "print": (_print_custom, 0), "export": (_export_custom, 1), "delete": (_delete_custom, 1)}


def _import_ca(ctx, name: str, path: str, which_names: str) -> None:
    certs = _certs()
    try:
        text = ctx.files.read_bytes(path, MAX_PEM_BYTES).decode("utf-8", errors="replace")
        pem = certs.certificate_blocks(text)
        if which_names != "no":
            certs.check_fqdn(pem, which_names)
    except certs.CertificateProblem as e:
        raise CommandError(f"The certificate authority cannot be imported: {e}") from None
    if any(ca.name.lower() == name.lower() for ca in ctx.config.certificates.custom_cas):
        raise CommandError(f"A custom certificate authority named {name} already exists.")
    try:
        entry = CustomCa(name, pem)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.replace_section("certificates", custom_cas=(*ctx.config.certificates.custom_cas, entry))
    ctx.say(f"The certificate authority {name} was added to the custom CA list.")


def show(ctx) -> None:
    section = ctx.config.certificates
    _print_certificates(ctx, None)
    ctx.say(f"Custom CA list: {'enabled' if section.custom_ca_enabled else 'disabled'} "
            f"({len(section.custom_cas)} certificates)")
    ctx.say(f"System CA list: {'enabled' if section.system_ca_enabled else 'disabled'}")


# ---------------------------------------------------------------- the menus


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        in_use = [l.name for l in ctx.config.listeners.listeners if not l.certificate and l.enabled]
        status = "You are currently using a demonstration certificate (listeners: " + ", ".join(in_use) + ")." \
            if in_use else None
        op = p.menu([("CERTIFICATE", "Import, create, request, or export a certificate."),
                     ("CERTAUTHORITY", "Manage the lists of trusted certificate authorities.")], status=status)
        if op is None:
            return
        try:
            _certificate_menu(ctx) if op == "CERTIFICATE" else _authority_menu(ctx)
        except CommandError as e:
            p.error(str(e))


def _certificate_menu(ctx) -> None:
    p = ctx.prompter
    while True:
        _print_certificates(ctx, None)
        op = p.menu([("IMPORT", "Import a certificate from a local file."),
                     ("PASTE", "Paste a certificate into the CLI."),
                     ("NEW", "Create a self-signed certificate."),
                     ("EDIT", "Rename a certificate."),
                     ("EXPORT", "Export a certificate."),
                     ("DELETE", "Remove a certificate."),
                     ("PRINT", "View certificates assigned to services.")])
        if op is None:
            return
        try:
            _certificate_op(ctx, op)
        except CommandError as e:
            p.error(str(e))


def _certificate_op(ctx, op: str) -> None:
    p = ctx.prompter
    certs = _certs()
    if op == "PRINT":
        return _print_certificates(ctx, None)
    if op == "NEW":
        kind = p.choose("Choose the type of certificate:", ["Create a self-signed certificate",
                                                              "Create a self-signed SMIME certificate"], 0)
        name = p.ask("Enter a name for this certificate profile:")
        while True:  # an answer that fails the FQDN check is asked again, with the reason
            cn = p.ask("Enter Common Name:")
            check = kind == 0 and p.yes_no(
                "Do you want to check if Common Name is in Fully Qualified Domain Name(FQDN) format?", True)
            problem = certs.fqdn_problem(cn) if check else None
            if not problem:
                break
            p.error(f"The Common Name is not in FQDN format: {problem}")
        fields = {
            "common_name": cn,
            "organization": p.ask("Enter Organization:", allow_empty=True),
            "unit": p.ask("Enter Organizational Unit:", allow_empty=True),
            "locality": p.ask("Enter Locality or City:", allow_empty=True),
            "state": p.ask("Enter State or Province:", allow_empty=True),
            "country": p.ask("Enter Country (2 letter code):", "US",
                             validate=lambda v: None if len(v) == 2 and v.isalpha() else "Enter a 2 letter code."),
            "days": p.ask_int("Duration before expiration (in days):", 3650, 1, 36500),
            "key_size": (2048, 4096)[p.choose("Select the key size:", ["2048", "4096"], 0)],
            "email": p.ask("Enter email address for the SMIME certificate:") if kind == 1 else None,
        }
        return _new(ctx, name, fields, check)
    if op == "IMPORT":
        name = p.ask("Enter a name for this certificate profile:")
        path = p.ask(f'Enter the name of the file on machine "{ctx.config.system.hostname}" to import:')
        passphrase = p.read_line("Enter passphrase: ", secret=True) or None
        check = p.yes_no("Do you want to check if Common Name is in Fully Qualified Domain Name(FQDN) format?",
                         True)
        data = ctx.files.read_bytes(path, MAX_PEM_BYTES)
        try:
            chain, key = certs.read_bundle(data, passphrase)
        except certs.CertificateProblem as e:
            raise CommandError(f"The certificate cannot be imported: {e}") from None
        return _add(ctx, name, chain, key, "server", check)
    if op == "PASTE":
        name = p.ask("Enter a name for this certificate profile:")
        try:
            chain = certs.certificate_blocks(p.multiline("Paste public certificate in PEM format (end with '.'):"))
            key = certs.key_from_pem(p.multiline("Paste private key in PEM format (end with '.'):"))
            if p.yes_no("Do you want to add an intermediate certificate?", False):
                chain += certs.certificate_blocks(p.multiline("Paste intermediate certificate in PEM format "
                                                              "(end with '.'):"))
        except certs.CertificateProblem as e:
            raise CommandError(f"The certificate cannot be used: {e}") from None
        check = p.yes_no("Do you want to check if Common Name is in Fully Qualified Domain Name(FQDN) format?",
                         True)
        return _add(ctx, name, chain, key, "server", check)
    name = p.ask("Enter the name of the certificate.")
    if op == "EDIT":
        return _rename(ctx, name, p.ask("Enter the new name of the certificate."))
    if op == "EXPORT":
        path = p.ask("Enter the name of the file to export to:")
        return _export(ctx, name, path, p.secret("Create a passphrase for file",
                                                 confirm="Confirm the passphrase for file"))
    if op == "DELETE":
        return _delete(ctx, name)


def _authority_menu(ctx) -> None:
    p = ctx.prompter
    while True:
        which = p.menu([("CUSTOM", "Manage the custom certificate authority list."),
                        ("SYSTEM", "Manage the system certificate authority list.")])
        if which is None:
            return
        ops = [("ENABLE", "Use this list."), ("DISABLE", "Do not use this list."), ("PRINT", "Show this list.")]
        if which == "CUSTOM":
            ops += [("IMPORT", "Import a certificate authority."), ("EXPORT", "Export the list."),
                    ("DELETE", "Remove a certificate authority.")]
        op = p.menu(ops)
        if op is None:
            continue
        line = f"certauthority {which.lower()} {op.lower()}"
        if op == "IMPORT":
            name = p.ask("Enter a name for this certificate authority:")
            path = p.ask("Enter the name of the file to import:")
            names = ("cn", "san", "both", "no")[p.choose(
                "Do you want to check if Common Name or SAN:dNSName or both are in Fully Qualified Domain "
                "Name(FQDN) format?", ["Common Name", "SAN:dNSName", "Both", "No check"], 3)]
            line += f" {name} {path} --check-fqdn={names}"
        elif op == "EXPORT":
            line += f" {p.ask('Enter the name of the file to export to:')}"
        elif op == "DELETE":
            line += f" {p.ask('Enter the name of the certificate authority.')}"
        try:
            run(ctx, Args.from_line(line))
        except CommandError as e:
            p.error(str(e))
