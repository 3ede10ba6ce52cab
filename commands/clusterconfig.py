"""clusterconfig: create a cluster on PostgreSQL, join it, leave it, list its machines.

A cluster shares one configuration (the cluster's sections), and each machine keeps its own host name and
interfaces; mail queues, quarantines, logs and tracking stay on each machine.
"""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("clusterconfig", """
create NAME --store=URL [--machine=NAME] [--cluster-passphrase-file=FILE]
join --store=URL [--machine=NAME] [--cluster-passphrase-file=FILE]
leave
list
removemachine NAME
addgroup NAME
deletegroup NAME
renamegroup NAME NEWNAME
setgroup MACHINE --group=NAME
""")

CHOICES = ("No, configure as standalone.", "Create a new cluster.", "Join an existing cluster.")


@command("clusterconfig", "Configure a cluster of machines sharing one configuration (PostgreSQL).",
         roles=R.ADMIN_ONLY, grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.config.cluster import Membership

    member = Membership.load(ctx.datadir)
    sub, rest = args.split()
    group = args.take_option("group") if sub == "setgroup" else None
    if sub is None:
        args.expect_done("clusterconfig")
        return _menu(ctx, member)
    if sub == "create" and len(rest) == 1:
        return _create(ctx, args, member, rest[0])
    if sub == "join" and not rest:
        return _join(ctx, args, member)
    args.expect_done("clusterconfig")
    if sub in ("list", "print") and not rest:
        return _list(ctx, _member(member))
    if sub == "leave" and not rest:
        return _leave(ctx, _member(member))
    if sub == "removemachine" and len(rest) == 1:
        return _remove(ctx, _member(member), rest[0])
    if sub in ("addgroup", "deletegroup", "renamegroup", "setgroup"):
        return _groups(ctx, _member(member), sub, rest, group)
    raise UsageError()


def _member(member):
    if member is None:
        raise CommandError("This machine is not in a cluster (clusterconfig create NAME --store=URL, or join).")
    return member


def _menu(ctx, member) -> None:
    if member is not None:
        _list(ctx, member)
        op = ctx.prompter.menu([("LIST", "List the machines of the cluster."),
                                ("ADDGROUP", "Add a cluster group."),
                                ("SETGROUP", "Set the group that machines are a member of."),
                                ("RENAMEGROUP", "Rename a cluster group."),
                                ("DELETEGROUP", "Remove a cluster group."),
                                ("REMOVEMACHINE", "Remove a machine from the cluster."),
                                ("LEAVE", "Take this machine out of the cluster.")])
        if op == "LIST":
            return _list(ctx, member)
        if op in ("ADDGROUP", "DELETEGROUP", "RENAMEGROUP"):
            words = [ctx.prompter.ask("Enter the name of the group.")]
            if op == "RENAMEGROUP":
                words.append(ctx.prompter.ask("Enter the new name of the group."))
            return _groups(ctx, member, op.lower(), words, None)
        if op == "SETGROUP":
            return _groups(ctx, member, "setgroup", [ctx.prompter.ask("Enter the name of the machine.")],
                           ctx.prompter.ask("Enter the name of the group to put it in."))
        if op == "REMOVEMACHINE":
            return _remove(ctx, member, ctx.prompter.ask("Enter the name of the machine to remove."))
        if op == "LEAVE":
            return _leave(ctx, member)
        return None
    choice = ctx.prompter.choose("Do you want to join or create a cluster?", CHOICES, default=0)
    if choice == 0:
        return None
    store = ctx.prompter.ask("Enter the cluster's store (a PostgreSQL URL, e.g. "
                             "postgresql://asyncos@db.example.com/asyncos).")
    machine = ctx.prompter.ask("Enter the name of this machine in the cluster.", default=_default_machine(ctx))
    if choice == 1:
        name = ctx.prompter.ask("Enter the name of the new cluster.")
        return _do_create(ctx, name, store, machine, _new_passphrase(ctx))
    return _do_join(ctx, store, machine, ctx.prompter.secret("Enter the cluster passphrase:"))


def _default_machine(ctx) -> str:
    return ctx.config.system.hostname.split(".")[0]


def _cluster_passphrase(ctx, args, new: bool) -> str:
    passphrase = args.secret("cluster-passphrase", ctx)
    if passphrase is not None:
        if new and len(passphrase) < 12:
            raise CommandError("The cluster passphrase must be at least 12 characters long.")
        return passphrase
    if ctx.batch:
        raise CommandError("clusterconfig needs the cluster passphrase: --cluster-passphrase-file=FILE "
                           "(or - for standard input); on a terminal it is asked for")
    return _new_passphrase(ctx) if new else ctx.prompter.secret("Enter the cluster passphrase:")


def _new_passphrase(ctx) -> str:
    ctx.say("Machines give the cluster passphrase to join (it opens the cluster's key to its secrets).")
    return ctx.prompter.secret("Enter the cluster passphrase:", confirm="Please enter it again:",
                               validate=lambda p: "At least 12 characters." if len(p) < 12 else None)


def _create(ctx, args, member, name: str) -> None:
    _do_create(ctx, name, *_joining(ctx, args, member, "create"))


def _join(ctx, args, member) -> None:
    _do_join(ctx, *_joining(ctx, args, member, "join"))


def _joining(ctx, args, member, sub: str) -> tuple[str, str, str]:
    """create's and join's options: (store, machine, cluster passphrase)."""
    store, machine = args.take_option("store"), args.take_option("machine")
    if not store:
        raise CommandError(f"clusterconfig {sub} needs --store=URL (the cluster's PostgreSQL)")
    passphrase = _cluster_passphrase(ctx, args, new=sub == "create")
    args.expect_done("clusterconfig")
    if member is not None:
        raise CommandError(f"This machine is already in the cluster {member.cluster}.")
    return str(store), str(machine or _default_machine(ctx)), passphrase


def _no_pending(ctx) -> None:
    if ctx.session.has_pending:
        raise CommandError("There are uncommitted changes: commit or clear them first.")


def _open(store: str, machine: str):
    from asyncos_cli.config.cluster import ClusterTables
    from asyncos_cli.config.postgres import PostgresStore

    try:
        pg = PostgresStore(store, machine=machine)
        return pg, ClusterTables(pg.connection())
    except ConfigError as e:
        raise CommandError(str(e)) from None
    except Exception as e:  # a malformed URL: psycopg's ProgrammingError
        raise CommandError(f"cannot use the store {store!r}: {e}") from None


def _do_create(ctx, name: str, store: str, machine: str, passphrase: str) -> None:
    from asyncos_cli.auth.accounts import Accounts
    from asyncos_cli.auth.cluster_accounts import PostgresAccounts
    from asyncos_cli.config.cluster import Membership
    from asyncos_cli.config.validators import name_rule

    if problem := name_rule("cluster name")(name):
        raise CommandError(problem)
    _no_pending(ctx)
    pg, tables = _open(store, machine)
    try:
        if tables.info() or pg.head_id():
            raise CommandError("That store already holds a cluster's configuration: join it (clusterconfig join).")
        local = ctx.store
        # The whole history comes along (rollbackconfig keeps working); secrets stay sealed with this
        # machine's key, which becomes the cluster key.
        pg.adopt([local.snapshot(v.id) for v in local.versions()])
        tables.create(name, ctx.datadir.key_file.read_bytes().strip(), passphrase)
        tables.add_machine(machine, ctx.config.system.hostname, ctx.state.get("serial", ""))
        _copy_accounts(Accounts(ctx.datadir.database), PostgresAccounts(store))  # users are the cluster's
    except ConfigError as e:
        raise CommandError(str(e)) from None
    finally:
        pg.close()
    Membership(name, machine, store).save(ctx.datadir)
    count = len(local.versions())
    ctx.say(f"Cluster {name} created with this machine as {machine}; its configuration, {count} "
            f"version{'' if count == 1 else 's'}, is in the cluster's store.")
    _tell_the_gateway(ctx)


def _do_join(ctx, store: str, machine: str, passphrase: str) -> None:
    from asyncos_cli.config.cluster import MACHINE_SECTIONS, Membership, unwrap_key
    from asyncos_cli.config.datadir import write_private
    from asyncos_cli.config.store import NothingToCommit

    _no_pending(ctx)
    pg, tables = _open(store, machine)
    try:
        info = tables.info()
        if info is None:
            raise CommandError("That store holds no cluster: create one (clusterconfig create NAME --store=URL).")
        name, salt, wrapped = info
        key = unwrap_key(salt, wrapped, passphrase)
        own = ctx.config
        if not tables.add_machine(machine, own.system.hostname, ctx.state.get("serial", "")):
            _new_serial(ctx, tables, machine)
        cluster = pg.snapshot()
        try:  # this machine keeps its host name and interfaces
            pg.commit({s: own[s] for s in MACHINE_SECTIONS}, {s: cluster.changed_in.get(s, 0) for s in
                      MACHINE_SECTIONS}, ctx.user, f"machine {machine} joined the cluster")
        except NothingToCommit:
            pass
    except ConfigError as e:
        raise CommandError(str(e)) from None
    finally:
        pg.close()
    # The standalone key is kept beside: versions committed before joining were sealed with it.
    kept = ctx.datadir.key_file.with_name("config.key.standalone")
    if not kept.exists():
        write_private(kept, ctx.datadir.key_file.read_bytes())
    write_private(ctx.datadir.key_file, key + b"\n")
    Membership(name, machine, store).save(ctx.datadir)
    ctx.say(f"This machine joined the cluster {name} as {machine}.")
    _tell_the_gateway(ctx)


def _new_serial(ctx, tables, machine: str) -> None:
    """A machine whose data directory was copied from a member's has that member's serial number: the API tells
    machines' messages apart by it, so this one gets its own."""
    from asyncos_cli.config.state import new_serial

    serial = new_serial()
    ctx.state.put("serial", serial)
    tables.set_serial(machine, serial)
    ctx.say(f"This machine had the serial number of another machine of the cluster (a copied data directory); "
            f"its serial number is {serial} now (its logs and SNMP name it from the gateway's next start).")


def _copy_accounts(source, target) -> None:
    """Passphrases, their history, locks: from one store to the other."""
    try:
        target.replace_all(source.export())
    finally:
        source.close()
        target.close()


def _tell_the_gateway(ctx) -> None:
    from asyncos_cli.control.client import nudge

    if nudge(ctx.datadir.control_socket, "store"):  # else it opens the right store when it starts
        ctx.say("The running gateway now follows this configuration.")


def _list(ctx, member) -> None:
    pg, tables = _open(member.store, member.machine)
    try:
        machines = tables.machines()
        head = pg.head_id()
        groups = pg.groups()
    finally:
        pg.close()
    lines = [f"Cluster {member.cluster} (configuration version {head}); this machine: {member.machine}",
             f"Groups: {', '.join(groups.names)}", "",
             f"{'Machine':<16} {'Group':<16} {'Host name':<28} {'State':<20} {'Version':>7}  Last seen"]
    for m in machines:
        seen = time.strftime("%d %b %Y %H:%M:%S", time.localtime(m["last_seen"])) if m["last_seen"] else "-"
        lines.append(f"{m['name']:<16} {groups.of(m['name']):<16} {m['hostname']:<28} {m['state']:<20} "
                     f"{m['applied_version']:>7}  {seen}")
    ctx.prompter.page("\n".join(lines))


def _leave(ctx, member) -> None:
    from asyncos_cli.auth.accounts import Accounts
    from asyncos_cli.auth.cluster_accounts import PostgresAccounts
    from asyncos_cli.config.cluster import Membership
    from asyncos_cli.config.store import SQLiteStore

    _no_pending(ctx)
    runs_on = ctx.store.reopen()
    runs_on.mode = None  # what this machine runs on (its group's and its own settings over the cluster's)
    try:
        view = runs_on.snapshot()  # kept as its own standalone configuration
    finally:
        runs_on.close()
    pg, tables = _open(member.store, member.machine)
    try:
        # The cluster's users come along with their passphrases (the configuration names them).
        _copy_accounts(PostgresAccounts(member.store), Accounts(ctx.datadir.database))
        tables.remove_machine(member.machine)
    finally:
        pg.close()
    local = SQLiteStore(ctx.datadir.database)
    try:
        base = local.snapshot()
        changed = {n: view.config[n] for n in view.config if view.config[n] != base.config[n]}
        if changed:
            local.commit(changed, dict(base.changed_in), ctx.user, f"left the cluster {member.cluster}")
    finally:
        local.close()
    Membership.remove(ctx.datadir)
    ctx.say(f"This machine left the cluster {member.cluster}; it keeps the cluster's configuration as its own.")
    _tell_the_gateway(ctx)


def _remove(ctx, member, machine: str) -> None:
    if machine == member.machine:
        raise CommandError("To take this machine out of the cluster, use clusterconfig leave.")
    pg, tables = _open(member.store, member.machine)
    try:
        if not tables.remove_machine(machine):
            raise CommandError(f"There is no machine {machine!r} in the cluster {member.cluster}.")
    finally:
        pg.close()
    ctx.say(f"Machine {machine} removed from the cluster {member.cluster}.")


def _groups(ctx, member, op: str, words: list[str], group) -> None:
    """The cluster's groups: a new version of its groups row (config.cluster.Groups), as a commit of its own."""
    from asyncos_cli.config.cluster import DEFAULT_GROUP, GROUPS_ROW, Groups
    from asyncos_cli.config.validators import name_rule
    from asyncos_cli.shell.clustermode import machine_names

    want = {"addgroup": 1, "deletegroup": 1, "renamegroup": 2, "setgroup": 1}[op]
    if len(words) != want or (op == "setgroup" and not group):
        raise UsageError()
    _no_pending(ctx)
    machines = machine_names(ctx)

    def change(rows):
        g = Groups.decode(rows.get(GROUPS_ROW, (None,))[0])
        names, placed = list(g.names), dict(g.machines)
        drop: set[str] = set()
        name = words[0]
        if op == "setgroup":
            if name not in machines:
                raise CommandError(f"There is no machine {name!r} in the cluster {member.cluster}.")
            if group not in names:
                raise CommandError(f"There is no group {group!r} ({', '.join(names)}).")
            placed[name] = group
        elif op == "addgroup":
            if problem := name_rule("group name")(name):
                raise CommandError(problem)
            if name in names:
                raise CommandError(f"The group {name} already exists.")
            names.append(name)
        else:
            if name not in names:
                raise CommandError(f"There is no group {name!r} ({', '.join(names)}).")
            if name == DEFAULT_GROUP:
                raise CommandError(f"{DEFAULT_GROUP} is where machines go when their group is deleted: it stays.")
            prefix = f"group/{name}/"
            drop = {row for row in rows if row.startswith(prefix)}
            if op == "deletegroup":
                names.remove(name)
                placed = {m: grp for m, grp in placed.items() if grp != name}
            else:
                new = words[1]
                if problem := name_rule("group name")(new):
                    raise CommandError(problem)
                if new in names:
                    raise CommandError(f"The group {new} already exists.")
                names[names.index(name)] = new
                placed = {m: new if grp == name else grp for m, grp in placed.items()}
                moved = {f"group/{new}/{row[len(prefix):]}": rows[row][0] for row in drop}
                return {GROUPS_ROW: Groups(tuple(names), tuple(placed.items())).encode(), **moved}, drop
        return {GROUPS_ROW: Groups(tuple(names), tuple(placed.items())).encode()}, drop

    info = ctx.store.write_rows(change, ctx.user, f"clusterconfig {op} {' '.join(words)}"
                                + (f" --group={group}" if group else ""))
    ctx.drop_session()
    done = {"addgroup": f"Group {words[0]} added", "deletegroup": f"Group {words[0]} deleted (its machines are "
            f"in {DEFAULT_GROUP} now)", "renamegroup": f"Group {words[0]} renamed {words[-1]}",
            "setgroup": f"Machine {words[0]} is in group {group} now"}[op]
    ctx.say(f"{done} (configuration version {info.id}).")
