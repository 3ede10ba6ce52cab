"""Cluster mode: two gateways, each with its own data directory and address (127.0.0.2, 127.0.0.3; or each in
a network namespace of its own, on its own 127.0.0.1, where the machine allows them), one
PostgreSQL the test starts; a commit on one applies on the other; the store stopped under mail and restarted."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys

import pytest
from conftest import (
    PASSPHRASE,
    DaemonProcess,
    Postgres,
    batch_fails,
    batch_ok,
    free_port,
    require_peer,
    run_cli,
    wait_for,
)

#: SSH, the API and the web interface stay on in these tests' data directories (conftest.datadir).
pytestmark = [pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
              pytest.mark.admin_services]

CLUSTER_PASSPHRASE = "Cluster-Passphrase-31"


#: Each gateway's API and web interface ports, by its data directory.
API_PORTS: dict = {}
WEB_PORTS: dict = {}


def _gateway(tmp_path, template, name: str, address: str, smtp: int, ssh: int = 0) -> object:
    d = tmp_path / name
    shutil.copytree(template, d, symlinks=True)
    API_PORTS[d], WEB_PORTS[d] = free_port(), free_port()
    batch_ok(d, f"interfaceconfig edit Management --address={address} --ssh-port={ssh or free_port()} "
                f"--api-https-port={API_PORTS[d]} --web-https-port={WEB_PORTS[d]}; "
                f"listenerconfig edit IncomingMail --interface=Management --port={smtp}; "
                f"listenerconfig edit OutgoingMail --interface=Management --port={free_port()}; "
                f"sethostname {name}.example.com; commit {name} on {address}")
    return d


def _send(address: str, port: int, rcpt: str, subject: str) -> None:
    with smtplib.SMTP(address, port, timeout=20) as s:
        s.sendmail("a@example.org", [rcpt], f"Subject: {subject}\r\n\r\nhello\r\n")


def _mail_log(d) -> str:
    f = d / "logs/mail_logs/mail.current"
    return f.read_text() if f.exists() else ""


def _version(daemon: DaemonProcess) -> int:
    return daemon.request("status")["config_version"]


def _head(dsn: str) -> int:
    """The newest version in the cluster's store."""
    from asyncos_cli.config.postgres import PostgresStore

    store = PostgresStore(dsn)
    try:
        return store.head_id()
    finally:
        store.close()


def _listening(address: str, port: int) -> bool:
    try:
        with smtplib.SMTP(address, port, timeout=5) as s:
            return s.noop()[0] == 250
    except OSError:
        return False


def _ssh(address: str, port: int, user: str, password: str, command: str, tmp_path) -> subprocess.CompletedProcess:
    require_peer("ssh")
    askpass = tmp_path / "askpass.sh"
    askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$ASYNCOS_TEST_PASS"\n')
    askpass.chmod(0o700)
    return subprocess.run(["ssh", "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
                           "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "NumberOfPasswordPrompts=1",
                           "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
                           f"{user}@{address}", command], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=60, env={**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force",
                                           "ASYNCOS_TEST_PASS": password})


def _api(d, address: str, path: str, **params) -> dict:
    """A GET of the AsyncOS API of the gateway at ``address``, as admin."""
    import base64

    import requests

    base = f"https://{address}:{API_PORTS[d]}/esa/api/v2.0"
    b64 = lambda v: base64.b64encode(v.encode()).decode()  # noqa: E731
    tok = requests.post(f"{base}/login", json={"data": {"userName": b64("admin"), "passphrase": b64(PASSPHRASE)}},
                        verify=False, timeout=20).json()["data"]["jwtToken"]
    r = requests.get(f"{base}{path}", verify=False, timeout=20, headers={"jwtToken": tok}, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _api_total(d, address: str) -> int:
    """total_recipients of the API's incoming summary, today's hours."""
    import time

    hour = lambda t: time.strftime("%Y-%m-%dT%H:00:00.000Z", time.gmtime(t // 3600 * 3600))  # noqa: E731
    return _api(d, address, "/reporting/mail_incoming_traffic_summary/total_recipients", startDate=hour(0),
                endDate=hour(time.time() + 3600))["data"]["resultSet"][0]["total_recipients"]


@pytest.fixture
def cluster_store():
    pg = Postgres()
    yield pg
    pg.stop()


def test_two_gateways_share_one_configuration_and_survive_the_store_going_away(tmp_path, initialised_template,
                                                                               cluster_store):
    smtp = free_port()
    gw1 = _gateway(tmp_path, initialised_template, "gw1", "127.0.0.2", smtp)
    ssh2 = free_port()
    gw2 = _gateway(tmp_path, initialised_template, "gw2", "127.0.0.3", smtp, ssh2)
    dsn = cluster_store.database()
    pw = tmp_path / "cluster.pw"
    pw.write_text(CLUSTER_PASSPHRASE + "\n")

    # Both already running, standalone: creating and joining switch them to the cluster's store at once.
    one, two = DaemonProcess(gw1), DaemonProcess(gw2)
    try:
        created = batch_ok(gw1, f"clusterconfig create Lab --store='{dsn}' --machine=gw1 --cluster-passphrase-file={pw}")
        assert "Cluster Lab created with this machine as gw1" in created
        wrong = tmp_path / "wrong.pw"
        wrong.write_text("not-the-cluster-passphrase\n")
        assert "the cluster passphrase is wrong" in batch_fails(
            gw2, f"clusterconfig join --store='{dsn}' --machine=gw2 --cluster-passphrase-file={wrong}")
        assert "joined the cluster Lab as gw2" in batch_ok(
            gw2, f"clusterconfig join --store='{dsn}' --machine=gw2 --cluster-passphrase-file={pw}")
        # The history came along; each machine keeps its own host name and interfaces.
        assert "gw1 on 127.0.0.2" in batch_ok(gw2, "rollbackconfig list")
        assert run_cli(gw2, "-c", "sethostname").stdout.startswith("gw2.example.com")
        assert run_cli(gw1, "-c", "sethostname").stdout.startswith("gw1.example.com")

        assert wait_for(lambda: any(row[0] == "Cluster" and "machine gw2" in row[1]
                                    for row in two.request("status")["components"]))
        assert wait_for(lambda: _listening("127.0.0.2", smtp) and _listening("127.0.0.3", smtp), timeout=30)
        _send("127.0.0.2", smtp, "user@example.com", "to gw1")
        _send("127.0.0.3", smtp, "user@example.com", "to gw2")
        assert wait_for(lambda: 'Subject "to gw1"' in _mail_log(gw1) and 'Subject "to gw2"' in _mail_log(gw2))
        assert 'Subject "to gw2"' not in _mail_log(gw1)  # queues and logs stay per machine
        # Tracking on one machine finds what another received, naming the machine.
        found = lambda: json.loads(batch_ok(gw1, "findevent --subject='to gw2' --format=json"))  # noqa: E731
        assert wait_for(lambda: [r["machine"] for r in found()] == ["gw2"], timeout=20), found()
        record = json.loads(batch_ok(gw1, f"findevent show {found()[0]['mid']} --machine=gw2 --format=json"))
        assert record["subject"] == "to gw2"
        mine = json.loads(batch_ok(gw1, "findevent --subject='to gw1' --format=json"))
        assert [r["machine"] for r in mine] == ["gw1"]
        # Reports add every machine's hours up; one machine's on request.
        report = lambda m: json.loads(batch_ok(gw1, f"report overview --machine={m} --format=json"))  # noqa: E731
        total = lambda m: report(m)["Total Attempted Messages"]  # noqa: E731
        assert wait_for(lambda: total("gw2") >= 1 and total("all") == total("gw1") + total("gw2"), timeout=20)
        assert report("all")["Machines"] == "gw1, gw2"
        assert "Machines: gw1, gw2" in batch_ok(gw1, "report mail-policy")
        assert "no machine named 'gw9'" in batch_fails(gw1, "report overview --machine=gw9")
        # The AsyncOS API's reports and tracking on gw2 count and find gw1's mail too; details by serial number.
        assert wait_for(lambda: _api_total(gw2, "127.0.0.3") == total("all"), timeout=20)
        search = lambda **p: _api(gw2, "127.0.0.3", "/message-tracking/messages", startDate=  # noqa: E731
                                  "2020-01-01T00:00:00.000Z", endDate="2099-01-01T00:00:00.000Z", **p)
        both = search(subjectfilterOperator="begins_with", subjectfilterValue="to gw")
        assert both["meta"]["totalCount"] == 2
        hosts = {m["attributes"]["subject"]: m["attributes"] for m in both["data"]}
        assert hosts["to gw1"]["hostName"] == "gw1.example.com" and hosts["to gw2"]["hostName"].startswith("gw2.")
        assert hosts["to gw1"]["serialNumber"] != hosts["to gw2"]["serialNumber"]
        only = search(subjectfilterOperator="begins_with", subjectfilterValue="to gw", ciscoHost="gw1")
        assert [m["attributes"]["subject"] for m in only["data"]] == ["to gw1"]
        detail = _api(gw2, "127.0.0.3", "/message-tracking/details", mid=hosts["to gw1"]["mid"][0],
                      serialNumber=hosts["to gw1"]["serialNumber"])
        assert detail["data"]["messages"]["subject"] == "to gw1"
        # The web interface's tracking page likewise, another machine's message opened by its serial number.
        import requests

        web = requests.Session()
        base = f"https://127.0.0.3:{WEB_PORTS[gw2]}"
        web.post(f"{base}/login", data={"username": "admin", "password": PASSPHRASE}, verify=False, timeout=20)
        page = web.get(f"{base}/tracking", params={"search": "1", "subjectfilterOperator": "begins_with",
                                                   "subjectfilterValue": "to gw"}, verify=False, timeout=20).text
        assert "2 messages found" in page and "<td>gw1.example.com</td>" in page, page
        link = re.search(r'href="(/tracking/\d+\?serialNumber=[^"]+)"', page).group(1)
        assert "to gw1" in web.get(base + link.replace("&amp;", "&"), verify=False, timeout=20).text
        overview = web.get(f"{base}/reports/overview", verify=False, timeout=20).text
        assert "<dt>Machines</dt><dd>gw1, gw2</dd>" in overview, overview

        # A commit on one machine takes effect on the other (LISTEN/NOTIFY; the poll is every 2 s).
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            _send("127.0.0.3", smtp, "user@example.net", "refused")
        batch_ok(gw1, "listenerconfig edit IncomingMail rcptaccess add example.net; commit accept example.net")
        head = _head(dsn)  # (not the committing machine's applied version: it may not have applied it yet)
        assert wait_for(lambda: _version(one) == _version(two) == head, timeout=10)
        _send("127.0.0.3", smtp, "user@example.net", "accepted on gw2")
        assert two.request("status")["hostname"] == "gw2.example.com"
        # A machine's own setting committed on it stays its own.
        batch_ok(gw2, "sethostname mx2.example.com; commit gw2 renamed")
        head = _head(dsn)  # (not the committing machine's applied version: it may not have applied it yet)
        assert wait_for(lambda: _version(two) == _version(one) == head, timeout=10)
        assert two.request("status")["hostname"] == "mx2.example.com"
        assert one.request("status")["hostname"] == "gw1.example.com"

        # Users are the cluster's, passphrases included: made on gw1, logged in on gw2 over SSH.
        made = batch_ok(gw1, "userconfig new ops1 --fullname=Ops --role=operator --generate; commit ops1")
        generated = made.split("system generated passphrase for ops1:")[1].split()[0]
        assert wait_for(lambda: _ssh("127.0.0.3", ssh2, "ops1", generated, "version", tmp_path).returncode == 0,
                        timeout=15)

        # One Smart Licensing registration for every machine (14.0), each with its own identity.
        from test_cloud import VendorCloud

        vendor = VendorCloud(tmp_path)
        try:
            batch_ok(gw1, f"certconfig certauthority custom import vendor {vendor.ca_file}; license_smart setup "
                          f"--url={vendor.url}/licservice/license; cloudserviceconfig enable --server={vendor.url}; "
                          "license_smart enable; commit licensing")
            assert "Registration requested for every machine of the cluster Lab" in batch_ok(
                gw1, "license_smart register --token=good-license-token")
            both = lambda: batch_ok(gw2, "license_smart status")  # noqa: E731
            assert wait_for(lambda: both().count("Registered") >= 3, timeout=20), both()
            assert re.search(r"^gw1 +Registered +PI-7f3a", both(), re.M) and re.search(r"^gw2 +Registered", both(),
                                                                                      re.M), both()
            hosts = {b["hostname"] for m, p, b in vendor.requests if p == "/licservice/license/v1/register"}
            assert hosts == {"gw1.example.com", "mx2.example.com"}
            assert "good-license-token" not in _mail_log(gw2) + (gw2 / "state/cluster-config.json").read_text()
        finally:
            vendor.close()

        listed = lambda: batch_ok(gw2, "clusterconfig list")  # noqa: E731
        assert wait_for(lambda: listed().count(" online ") == 2, timeout=15), listed()
        assert wait_for(lambda: "gw1.example.com" in listed() and "mx2.example.com" in listed(), timeout=15)

        # The store goes away under mail: both keep receiving, status says so, commits are refused.
        cluster_store.pause()
        try:
            for i in range(5):
                _send("127.0.0.2", smtp, "user@example.com", f"while down {i}")
                _send("127.0.0.3", smtp, "user@example.net", f"while down {i}")
            assert wait_for(lambda: "store unreachable" in two.request("status")["store_problem"]
                            or "unreachable" in two.request("status")["store_problem"], timeout=15)
            refused = batch_fails(gw2, "listenerconfig edit IncomingMail rcptaccess add example.io; commit")
            assert "configuration store is unreachable" in refused
            assert "store unreachable" in batch_ok(gw2, "status")
            assert wait_for(lambda: "The configuration store is unreachable" in batch_ok(gw2, "displayalerts"))
        finally:
            cluster_store.start()
        assert wait_for(lambda: not two.request("status")["store_problem"], timeout=15)
        assert wait_for(lambda: all(f'Subject "while down {i}"' in _mail_log(gw1) + _mail_log(gw2)
                                    for i in range(5)))
        batch_ok(gw2, "listenerconfig edit IncomingMail rcptaccess add example.io; commit from gw2")
        head = _head(dsn)  # (not the committing machine's applied version: it may not have applied it yet)
        assert wait_for(lambda: _version(two) == _version(one) == head, timeout=10)

        # One machine killed outright: the other keeps serving.
        one.proc.send_signal(signal.SIGKILL)
        one.proc.wait(10)
        _send("127.0.0.3", smtp, "user@example.io", "after gw1 died")
        assert wait_for(lambda: 'Subject "after gw1 died"' in _mail_log(gw2))
    finally:
        one.stop()
        two.stop()

    # Leaving keeps the cluster's configuration as this machine's own, on the embedded store.
    assert "left the cluster Lab" in batch_ok(gw2, "clusterconfig leave")
    assert not (gw2 / "state/cluster-config.json").exists()  # no copy of the cluster's configuration stays
    assert "example.io" in batch_ok(gw2, "listenerconfig print")
    assert "not in a cluster" in batch_fails(gw2, "clusterconfig list")
    listed = batch_ok(gw1, "clusterconfig list")
    assert "gw1" in listed and "gw2" not in listed


def test_clusterconfig_refuses_what_it_cannot_do(initialised_template, postgres, tmp_path):
    datadir = tmp_path / "standalone"  # (not the datadir fixture: under make test-postgres that is in a cluster)
    shutil.copytree(initialised_template, datadir, symlinks=True)
    pw = tmp_path / "short.pw"
    pw.write_text("short\n")
    dsn = postgres.database()
    assert "at least 12 characters" in batch_fails(
        datadir, f"clusterconfig create Lab --store='{dsn}' --cluster-passphrase-file={pw}")
    assert "needs --store=URL" in batch_fails(datadir, "clusterconfig join")
    assert "holds no cluster" in batch_fails(
        datadir, f"clusterconfig join --store='{dsn}' --cluster-passphrase-file={pw}")
    assert "unreachable" in batch_fails(
        datadir, f"clusterconfig join --store='host=127.0.0.1 port={free_port()} user=x dbname=x' "
                 f"--cluster-passphrase-file={pw}")
    r = run_cli(datadir, "-c", "clusterconfig list")
    assert r.returncode != 0 and "not in a cluster" in r.stderr
    pw.write_text(PASSPHRASE + "-cluster\n")
    assert "Cluster Lab created" in batch_ok(
        datadir, f"clusterconfig create Lab --store='{dsn}' --cluster-passphrase-file={pw}")
    assert "already in the cluster Lab" in batch_fails(
        datadir, f"clusterconfig create Lab --store='{dsn}' --cluster-passphrase-file={pw}")
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.repl import prompt_name

    assert prompt_name(Context(DataDir(datadir), prompter=None)) == "(Cluster Lab)"


def test_the_clusterconfig_questions_create_a_cluster_and_offer_its_operations(initialised_template, postgres,
                                                                                tmp_path):
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter

    d = tmp_path / "asked"
    shutil.copytree(initialised_template, d, symlinks=True)
    dsn = postgres.database()
    p = ScriptedPrompter(["9", "2", dsn, "", "Asked", "short", CLUSTER_PASSPHRASE, CLUSTER_PASSPHRASE])
    ctx = Context(DataDir(d), p, confined=False)
    Shell(ctx).execute("clusterconfig")
    assert "Do you want to join or create a cluster?" in p.text and "Please enter a number from 1 to 3." in p.text
    assert "At least 12 characters." in p.text  # re-asked
    assert "Cluster Asked created with this machine as ironport" in p.text
    ctx.close()
    p = ScriptedPrompter(["LIST", ""])
    ctx = Context(DataDir(d), p, confined=False)
    Shell(ctx).execute("clusterconfig")
    assert "Choose the operation you want to perform:" in p.text and "- REMOVEMACHINE -" in p.text
    assert p.text.count("Cluster Asked (configuration version") == 2  # shown, then LIST
    ctx.close()


def test_groups_and_machines_override_the_clusters_settings(tmp_path, initialised_template, cluster_store):
    """Settings at cluster, group and machine level: the machines of a group run on the group's, a machine on
    its own; the appliance's questions when a command is not yet configured at the shell's mode."""
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.config.postgres import PostgresStore
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.repl import prompt_name
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter

    smtp = free_port()
    gw1 = _gateway(tmp_path, initialised_template, "gw1", "127.0.0.2", smtp)
    gw2 = _gateway(tmp_path, initialised_template, "gw2", "127.0.0.3", smtp)
    dsn = cluster_store.database()
    pw = tmp_path / "cluster.pw"
    pw.write_text(CLUSTER_PASSPHRASE + "\n")
    batch_ok(gw1, f"clusterconfig create Lab --store='{dsn}' --machine=gw1 --cluster-passphrase-file={pw}")
    batch_ok(gw2, f"clusterconfig join --store='{dsn}' --machine=gw2 --cluster-passphrase-file={pw}")
    assert "Group Edge added" in batch_ok(gw1, "clusterconfig addgroup Edge")
    assert "Machine gw2 is in group Edge now" in batch_ok(gw1, "clusterconfig setgroup gw2 --group=Edge")
    assert re.search(r"^gw2 +Edge ", batch_ok(gw1, "clusterconfig list"), re.M)
    assert "There is no group 'Nowhere'" in batch_fails(gw1, "clusterconfig setgroup gw1 --group=Nowhere")

    def runs_on(machine: str):
        store = PostgresStore(dsn, machine=machine)
        try:
            return store.snapshot().config
        finally:
            store.close()

    def accepts(machine: str, domain: str) -> bool:
        return any(domain in str(e) for e in runs_on(machine).listeners.get("IncomingMail").rcpt_access)

    # Not yet configured for the group: a batch says so and what to run; copying settles it.
    edit = "listenerconfig edit IncomingMail rcptaccess add example.net; commit edge accepts example.net"
    refused = batch_fails(gw1, f"clustermode group Edge; {edit}")
    assert "has not yet been configured for the current cluster mode (Group Edge)" in refused
    assert "clusterset copy listenerconfig --from=cluster --to=group:Edge" in refused
    batch_ok(gw1, "clusterset copy listenerconfig --from=cluster --to=group:Edge")
    assert "Cluster Lab, Group Edge" in batch_ok(gw1, "clusterset list listenerconfig")
    batch_ok(gw1, f"clustermode group Edge; {edit}")
    assert accepts("gw2", "example.net") and not accepts("gw1", "example.net")
    # The daemon of a machine in the group runs on the group's settings.
    two = DaemonProcess(gw2)
    try:
        assert wait_for(lambda: _listening("127.0.0.3", smtp), timeout=30)
        _send("127.0.0.3", smtp, "user@example.net", "edge accepts")
        # Moved back to the main group: the cluster's settings again, applied within the second.
        head = batch_ok(gw1, "clusterconfig setgroup gw2 --group=Main_Group")
        version = int(re.search(r"configuration version (\d+)", head).group(1))
        assert wait_for(lambda: _version(two) == version, timeout=10)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            _send("127.0.0.3", smtp, "user@example.net", "refused again")
    finally:
        two.stop()

    # A machine's own settings, started empty from the appliance's question, override the cluster's.
    ctx = Context(DataDir(gw1), ScriptedPrompter(["Group Edge"]), confined=False)
    shell = Shell(ctx)
    shell.execute("clustermode")  # the modes as a list: the cluster, each group, each machine
    assert "3. Machine gw1" not in ctx.prompter.text and "2. Group Main_Group" in ctx.prompter.text
    assert prompt_name(ctx) == "(Group Edge)"
    shell.execute("clustermode machine gw1")
    assert prompt_name(ctx) == "(Machine gw1)"
    p = ctx.prompter = ScriptedPrompter(["4", "3", "1", "Y"])
    shell.execute("alertconfig print")
    assert "NOTICE: This configuration command has not yet been configured for the current cluster mode " \
           "(Machine gw1)." in p.text
    assert 'Switch modes to edit at mode "Cluster Lab".' in p.text and "Please enter a number from 1 to 3." in p.text
    shell.execute("commit gw1 keeps its own alert settings")
    ctx.close()
    assert "Cluster Lab, Machine gw1" in batch_ok(gw1, "clusterset list alertconfig")
    batch_ok(gw1, "alertconfig from alerts@lab.example; commit cluster alerts")
    assert runs_on("gw2").alerts.from_address == "alerts@lab.example"
    assert runs_on("gw1").alerts.from_address != "alerts@lab.example"
    batch_ok(gw1, "clusterset delete alertconfig --from=machine:gw1")
    assert runs_on("gw1").alerts.from_address == "alerts@lab.example"
    # A rollback of the cluster's settings says which groups' and machines' own settings it leaves.
    assert "changed since version 3: Group Edge: hat, Group Edge: listeners" in batch_ok(gw1, "rollbackconfig rollback 3")
    batch_ok(gw1, "clear")
    # Settings of one machine, or of the whole cluster, offer to switch there.
    assert 'userconfig is restricted to "cluster" mode' in batch_fails(gw1, "clustermode machine gw1; userconfig")
    assert "The cluster's settings can be copied, not moved" in batch_fails(
        gw1, "clusterset move alertconfig --from=cluster --to=group:Edge")


def _netns_or_skip(name: str) -> list[str]:
    """A network namespace of its own (its loopback up); skipped where the machine does not allow them."""
    require_peer("ip")
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (the 127.0.0.x test covers the same ground)")
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this machine allows no network namespaces ({made.stderr.strip()})")
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return ["ip", "netns", "exec", name]


def _send_in(ns: list[str], port: int, rcpt: str, subject: str) -> None:
    """Mail sent from inside a namespace, to its own 127.0.0.1."""
    script = ("import smtplib, sys\nwith smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20) as s:\n"
              "    s.sendmail('a@example.org', [sys.argv[2]], f'Subject: {sys.argv[3]}\\r\\n\\r\\nhello\\r\\n')\n")
    subprocess.run([*ns, sys.executable, "-c", script, str(port), rcpt, subject], check=True, timeout=60,
                   capture_output=True)


def test_gateways_in_network_namespaces_of_their_own(tmp_path, initialised_template, cluster_store):
    """Each gateway in its own network namespace, on its own 127.0.0.1 and the same ports (nothing shared but
    the store, reached over its Unix socket): mail to each arrives, a commit on one applies on the other, and
    tracking on one finds what the other received."""
    names = [f"asyncos{os.getpid()}g{i}" for i in (1, 2)]
    daemons, spaces = [], []
    try:
        for name in names:
            spaces.append(_netns_or_skip(name))
        smtp, ssh, api, web = free_port(), free_port(), free_port(), free_port()
        dirs = []
        for i in (1, 2):
            d = tmp_path / f"ns{i}"
            shutil.copytree(initialised_template, d, symlinks=True)
            batch_ok(d, f"interfaceconfig edit Management --address=127.0.0.1 --ssh-port={ssh} "
                        f"--api-https-port={api} --web-https-port={web}; listenerconfig edit IncomingMail "
                        f"--interface=Management --port={smtp}; listenerconfig edit OutgoingMail "
                        f"--interface=Management --port={free_port()}; sethostname ns{i}.example.com; commit")
            dirs.append(d)
        dsn = cluster_store.database().replace("host=127.0.0.1", f"host={cluster_store.folder}")
        pw = tmp_path / "cluster.pw"
        pw.write_text(CLUSTER_PASSPHRASE + "\n")
        # Delivered nowhere (the namespaces have no DNS): finished at once, so tracking ships it.
        batch_ok(dirs[0], "smtproutes new ALL /dev/null; commit")
        batch_ok(dirs[0], f"clusterconfig create NS --store='{dsn}' --machine=ns1 --cluster-passphrase-file={pw}")
        batch_ok(dirs[1], f"clusterconfig join --store='{dsn}' --machine=ns2 --cluster-passphrase-file={pw}")
        daemons = [DaemonProcess(d, tuple(ns)) for d, ns in zip(dirs, spaces)]
        for i, ns in enumerate(spaces, 1):
            assert wait_for(lambda: subprocess.run([*ns, sys.executable, "-c", "import socket; socket.create_"
                                                    f"connection(('127.0.0.1', {smtp}), 2)"],
                                                   capture_output=True).returncode == 0, timeout=30)
            _send_in(ns, smtp, "user@example.com", f"into ns{i}")
        assert wait_for(lambda: 'Subject "into ns1"' in _mail_log(dirs[0]) and 'Subject "into ns2"'
                        in _mail_log(dirs[1]))
        assert 'Subject "into ns2"' not in _mail_log(dirs[0])
        found = lambda: json.loads(batch_ok(dirs[0], "findevent --subject='into ns2' --format=json"))  # noqa: E731
        assert wait_for(lambda: [r["machine"] for r in found()] == ["ns2"], timeout=20), found()

        batch_ok(dirs[0], "listenerconfig edit IncomingMail rcptaccess add example.net; commit accept example.net")
        head = _head(dsn)
        assert wait_for(lambda: _version(daemons[0]) == _version(daemons[1]) == head, timeout=10)
        _send_in(spaces[1], smtp, "user@example.net", "accepted in ns2")
        assert wait_for(lambda: 'Subject "accepted in ns2"' in _mail_log(dirs[1]))
    finally:
        for daemon in daemons:
            daemon.stop()
        for name in names[:len(spaces)]:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_shipped_report_counters_match_this_machines_in_every_span(postgres):
    """Hours shipped whole, days and weeks moved by the difference: after rounds of new counts, the cluster's
    rows of every span are this machine's."""
    import sqlite3
    from collections import Counter

    import psycopg

    from asyncos_cli.services import rollups
    from asyncos_cli.services.cluster_reports import ClusterReports

    local = sqlite3.connect(":memory:")
    local.executescript("CREATE TABLE tracking_records (mid INTEGER, received REAL, finished REAL);")
    rollups.ensure(local)
    hour = 1_765_000_000 // 3600 * 3600
    with psycopg.connect(postgres.database(), autocommit=True) as conn:
        reports = ClusterReports(conn)
        for round_, hours in enumerate(([hour, hour + 3600], [hour + 3600, hour - 86400 * 8], [hour])):
            rollups._store(local, Counter({("actions", h, f"incoming\x1fK{round_ % 2}"): 3 for h in hours}))
            reports.ship("gw1", local, None if round_ == 0 else hours)
        mine = set(local.execute("SELECT family, span, start, key, n FROM report_rollups"))
        shipped = set(conn.execute("SELECT family, span, start, key, n FROM cluster_rollups WHERE machine = 'gw1'"))
    assert shipped == mine and any(span == rollups.WEEK for _, span, *_ in mine)
