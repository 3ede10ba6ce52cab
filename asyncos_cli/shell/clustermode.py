"""Cluster modes in the shell: where a command's settings are read and written (the appliance's Centralized
Management: ``(Cluster NAME)>``, ``(Group NAME)>``, ``(Machine NAME)>``).

A shell starts at the cluster's level. A configuration command run at a group's or a machine's level whose
settings are not configured there asks first, in the appliance's words, whether to switch to the mode they are
configured at, start empty settings here, or copy them here from another mode. Commands whose settings belong
to the whole cluster (users, loading or rolling back the whole configuration) offer to switch to its mode;
those of one machine (host name, interfaces) edit this machine's own at the cluster's or a group's level, and
the named machine's at a machine's level.
"""

from __future__ import annotations

from asyncos_cli.config.cluster import (
    CLUSTER_SECTIONS,
    MACHINE_SECTIONS,
    Membership,
    Mode,
)
from asyncos_cli.shell.prompter import CommandError

#: The settings each configuration command edits: the unit the appliance configures per mode.
COMMAND_SECTIONS: dict[str, tuple[str, ...]] = {
    "adminaccessconfig": ("admin_access",), "alertconfig": ("alerts",), "aliasconfig": ("aliases",),
    "ampconfig": ("file_reputation",), "antispamconfig": ("antispam",), "antivirusconfig": ("antivirus",),
    "awarenessconfig": ("awareness",), "bounceconfig": ("bounces",), "certconfig": ("certificates",),
    "cloudserviceconfig": ("cloud",), "destconfig": ("delivery",), "dlpconfig": ("dlp",), "dmarcconfig": ("dmarc",),
    "dnsconfig": ("dns",), "domainkeysconfig": ("domainkeys",), "domainrepconfig": ("reputation",),
    "filters": ("message_filters",), "hashlistconfig": ("hash_lists",), "interfaceconfig": ("interfaces",),
    "license_smart": ("licensing",), "listenerconfig": ("listeners", "hat"), "logconfig": ("logs",),
    "masquerade": ("listeners",), "ntpconfig": ("ntp",), "outboundconfig": ("outbound",),
    "passwd": ("users",), "policyconfig": ("mail_policies", "content_filters"),
    "protectedattachmentconfig": ("protected_attachments",), "quarantineconfig": ("quarantines",),
    "remediationconfig": ("remediation",), "reputationconfig": ("reputation",), "scanconfig": ("scanning",),
    "sdrconfig": ("reputation",), "sethostname": ("system",), "settz": ("system",), "smtpauthconfig": ("smtp_auth",),
    "smtproutes": ("routes",), "snmpconfig": ("snmp",), "sshconfig": ("ssh",), "sslconfig": ("ssl",),
    "stripheaders": ("strip_headers",), "urllistconfig": ("reputation",),
    "userconfig": ("users", "passphrase_policy"),
}
#: Commands that replace or roll back every setting at once: the cluster's level only.
WHOLE_CONFIGURATION = frozenset({"loadconfig", "resetconfig", "rollbackconfig"})

NOTICE = "NOTICE: This configuration command has not yet been configured for the current cluster mode ({})."
CHOICES = ('Switch modes to edit at mode "{}".', "Start a new, empty configuration at the current mode.",
           "Copy settings from another cluster mode to the current mode.")


def current(ctx) -> Mode | None:
    """The shell's mode; None on a machine that is not in a cluster."""
    if Membership.load(ctx.datadir) is None:
        return None
    return ctx.store.mode


def parse(ctx, level: str, name: str | None) -> Mode:
    """A mode as the shell names it (``cluster``, ``group NAME``, ``machine NAME``), checked against the
    cluster's groups and machines."""
    member = Membership.load(ctx.datadir)
    if member is None:
        raise CommandError("This machine is not in a cluster.")
    level = level.lower()
    if level == "cluster":
        return Mode("cluster", member.cluster)
    if level not in ("group", "machine"):
        raise CommandError(f"{level!r}: the modes are cluster, group NAME and machine NAME.")
    if level == "machine" and not name:
        name = member.machine
    if not name:
        raise CommandError("Name the group: clustermode group NAME.")
    known = ctx.store.groups().names if level == "group" else machine_names(ctx)
    if name not in known:
        raise CommandError(f"There is no {level} {name!r} in the cluster {member.cluster} "
                           f"({', '.join(known) or 'none'}).")
    return Mode(level, name)


def machine_names(ctx) -> list[str]:
    from asyncos_cli.config.cluster import ClusterTables

    return [m["name"] for m in ClusterTables(ctx.store.connection()).machines()]


def switch(ctx, mode: Mode) -> None:
    """Read and write at ``mode`` from now on (in this shell)."""
    if ctx.has_session and ctx.session.has_pending and ctx.store.mode != mode:
        raise CommandError("There are uncommitted changes: commit or clear them before switching modes.")
    ctx.store.mode = mode
    ctx.drop_session()


def prepare(ctx, command: str) -> None:
    """Before a configuration command runs in a cluster: the appliance's questions when its settings are not
    configured at the shell's mode (in a batch, where none may be asked, the reason and what to run)."""
    sections = COMMAND_SECTIONS.get(command)
    if sections is None and command not in WHOLE_CONFIGURATION:
        return
    member = Membership.load(ctx.datadir)
    if member is None:
        return
    mode = ctx.store.mode
    if command in WHOLE_CONFIGURATION or set(sections) & set(CLUSTER_SECTIONS):
        if mode.level != "cluster":
            _restricted(ctx, command, Mode("cluster", member.cluster))
        return
    if set(sections) <= set(MACHINE_SECTIONS):
        return  # at the cluster's or a group's level these edit this machine's own (config.postgres._own)
    if mode.level == "cluster":
        return
    pending = ctx.session.pending_names()
    missing = ctx.store.not_configured_here([s for s in sections if s not in pending])
    if not missing:
        return
    levels = ctx.store.levels(missing[0])
    inherited = _inherited_from(ctx, mode, levels, member)
    if ctx.batch:
        raise CommandError(NOTICE.format(mode) + f" Switch to {inherited} (clustermode {inherited.level}"
                           + (f" {inherited.name}" if inherited.level != "cluster" else "")
                           + f"), or copy the settings here first: clusterset copy {command} "
                           f"--from={_spelled(inherited)} --to={_spelled(mode)}")
    ctx.say(NOTICE.format(mode))
    choice = ctx.prompter.choose("What would you like to do?", [CHOICES[0].format(inherited), *CHOICES[1:]],
                                 default=0)
    if choice == 0:
        return switch(ctx, inherited)
    from asyncos_cli.config.schema import SECTION_BY_NAME

    if choice == 1:
        for s in sections:
            ctx.session.adopt(SECTION_BY_NAME[s]())
        return
    sources = [m for m in levels if m != mode] or [inherited]
    source = sources[ctx.prompter.choose("Which cluster mode do you want to copy from?",
                                         [str(_named(m, member)) for m in sources], default=0)]
    for section in sections_at(ctx.store, _named(source, member), sections).values():
        ctx.session.adopt(section)


def _restricted(ctx, command: str, mode: Mode) -> None:
    if ctx.batch:
        raise CommandError(f'{command} is restricted to "{mode.level}" mode: clustermode {mode.level} first.')
    if not ctx.prompter.yes_no(f'This command is restricted to "{mode.level}" mode.  Would you like to switch '
                               f'to "{mode.level}" mode?', default=True):
        raise CommandError(f"{command} was not run: it is restricted to {mode.level} mode.")
    switch(ctx, mode)


def _inherited_from(ctx, mode: Mode, levels: list[Mode], member) -> Mode:
    """The mode a group or machine reads a setting from when it has none of its own."""
    if mode.level == "machine":
        group = Mode("group", ctx.store.groups().of(mode.name))
        if group in levels:
            return group
    return Mode("cluster", member.cluster)


def _named(mode: Mode, member) -> Mode:
    return Mode("cluster", member.cluster) if mode.level == "cluster" else mode


def parse_spelled(ctx, text: str) -> Mode:
    """``cluster``, ``group:NAME`` or ``machine:NAME`` (a batch option's value)."""
    level, _, name = str(text).partition(":")
    return parse(ctx, level, name or None)


def _spelled(mode: Mode) -> str:
    return "cluster" if mode.level == "cluster" else f"{mode.level}:{mode.name}"


def sections_at(store, mode: Mode, names) -> dict:
    """The settings as ``mode`` reads them (its own or inherited)."""
    other = store.reopen()
    try:
        other.mode = mode
        config = other.snapshot().config
        return {name: config[name] for name in names}
    finally:
        other.close()


def levels_named(ctx, section: str) -> list[Mode]:
    member = Membership.load(ctx.datadir)
    return [_named(m, member) for m in ctx.store.levels(section)]


def move_settings(ctx, command: str, sections, source: Mode, target: Mode | None, keep_source: bool):
    """One version: the settings as ``source`` reads them written at ``target`` (None: nowhere), and unless
    ``keep_source`` the source's own copy dropped. The cluster's settings are copied, never moved or deleted
    (every machine falls back on them)."""
    from asyncos_cli.config.store import section_body

    if source == target:
        raise CommandError("--from and --to name the same mode.")
    if not keep_source and source.level == "cluster":
        raise CommandError("The cluster's settings can be copied, not moved or deleted: every machine without "
                           "settings of its own runs on them.")
    if set(sections) <= set(MACHINE_SECTIONS):
        raise CommandError(f"{command} configures each machine's own settings; they are not shared.")
    if target is not None and set(sections) & set(CLUSTER_SECTIONS):
        raise CommandError(f"{command} is configured at the cluster's level only.")
    if not keep_source and not all(source in levels_named(ctx, s) for s in sections):
        raise CommandError(f"{command} is not configured at {source}: nothing to move or delete.")
    values = sections_at(ctx.store, source, sections) if target is not None else {}
    rows = {target.prefix() + name: section_body(section) for name, section in values.items()}
    drop = () if keep_source else {source.prefix() + name for name in sections}
    verb = "copied" if keep_source else "moved" if target else "deleted"
    return ctx.store.write_rows(lambda current: (rows, drop), ctx.user,
                                f"clusterset: {command} {verb} from {source}" + (f" to {target}" if target else ""))
