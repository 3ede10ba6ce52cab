"""Search & remediate against a real Dovecot (IMAP) and a Graph stand-in over HTTPS; messages from the relay."""

from __future__ import annotations

import email
import email.policy
import re
import smtplib

import pki
import pytest
from conftest import batch_fails as _fails
from conftest import batch_ok as _ok
from conftest import mail_log, require_peer, wait_for
from corpus import mail
from mailbox_peers import ACCOUNT, ACCOUNT_PASSPHRASE, Dovecot, GraphServer


@pytest.fixture
def mailboxes(datadir, tmp_path):
    require_peer("dovecot")
    dovecot = Dovecot({"b@example.com": "b-pass-1", "d@example.com": "d-pass-1"})
    root = pki.ca()
    (tmp_path / "root.pem").write_text(root.cert_pem)
    graph = GraphServer(pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, "contoso", "app-1",
                        "right-secret")
    _ok(datadir, f"certconfig certauthority custom import graphca {tmp_path / 'root.pem'}; "
                 f"remediationconfig new onprem --kind=imap --host=127.0.0.1 --port={dovecot.port} --tls=none "
                 f"--username={ACCOUNT} --passphrase={ACCOUNT_PASSPHRASE} --domains=example.com; "
                 f"remediationconfig new o365 --kind=graph --tenant=contoso --client-id=app-1 "
                 f"--client-secret=wrong-secret --domains=contoso.com --token-url={graph.url} --graph-url={graph.url}; "
                 "commit remediation profiles")
    yield dovecot, graph
    dovecot.stop()
    graph.close()


def _deliver(relay, datadir, message_id: str, rcpts) -> int:
    content = mail(("report.txt", b"quarterly figures\n", "text/plain"), subject="Invoice overdue",
                   message_id=message_id)
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        s.sendmail("a@example.org", list(rcpts), content)
    found = []
    assert wait_for(lambda: found.extend(re.findall(rf"MID (\d+) Message-ID '{re.escape(message_id)}'",
                                                   mail_log(datadir))) or found, 20)
    mid = int(found[0])
    assert wait_for(lambda: (relay.request("tracking", mid=mid) or {}).get("final_action") == "DELIVERED", 20)
    relay.request("status")  # the daemon flushes tracking on its poll; wait for the record in the database
    assert wait_for(lambda: "DELIVERED" in _ok(datadir, f"findevent --mid={mid}"), 10)
    return mid


def _job_done(datadir, job: int) -> str:
    out = {}

    def done():
        out["text"] = _ok(datadir, f"remediate status {job}")
        return re.search(rf"Job {job}: .*: (done|failed|done with problems) ", out["text"])

    assert wait_for(done, 30), out.get("text")
    return out["text"]


def test_validate_reports_a_wrong_client_secret_and_then_succeeds(datadir, mailboxes):
    dovecot, graph = mailboxes
    err = _fails(datadir, "remediationconfig validate o365")
    assert "the client secret was refused by the token endpoint (invalid_client: AADSTS7000215" in err
    _ok(datadir, "remediationconfig edit o365 --client-id=no-such-app; commit")
    assert "the client ID no-such-app is not known in tenant contoso" in _fails(datadir, "remediationconfig validate o365")
    _ok(datadir, "remediationconfig edit o365 --client-id=app-1 --client-secret=right-secret; commit")
    assert "token issued and the test call answered (organization Contoso)" in \
        _ok(datadir, "remediationconfig validate o365")
    assert "logged in as b@example.com and opened INBOX" in \
        _ok(datadir, "remediationconfig validate onprem --mailbox=b@example.com")
    _ok(datadir, "remediationconfig edit onprem --passphrase=not-it; commit")
    assert "the IMAP server refused the login b@example.com*remediator" in \
        _fails(datadir, "remediationconfig validate onprem --mailbox=b@example.com")
    log = (datadir / "logs" / "cloud_connector" / "cloud_connector.current").read_text()
    assert f"Graph (o365): POST {graph.url}/contoso/oauth2/v2.0/token -> HTTP 401" in log
    assert f"Graph (o365): GET {graph.url}/v1.0/organization -> HTTP 200" in log
    assert f"IMAP (onprem): LOGIN imap://b@example.com*remediator@127.0.0.1:{dovecot.port} -> refused" in log
    assert "not-it" not in log and "right-secret" not in log
    shown = _ok(datadir, "remediationconfig print") + _ok(datadir, "showconfig")
    assert "right-secret" not in shown and "not-it" not in shown


def test_forward_and_delete_change_the_mailboxes_as_asked(relay, datadir, mailboxes):
    dovecot, graph = mailboxes
    _ok(datadir, "remediationconfig edit o365 --client-secret=right-secret; "
                 "listenerconfig edit IncomingMail rcptaccess add contoso.com; commit")
    relay.request("reload")
    mid = _deliver(relay, datadir, "<phish@x>", ("b@example.com", "c@contoso.com"))
    raw = next(m for m in relay.sink.messages() if b"<phish@x>" in m)
    dovecot.deliver("b@example.com", raw)  # what the downstream servers hold after delivery
    dovecot.deliver("b@example.com", mail(message_id="<other@x>"))
    graph.deliver("c@contoso.com", "<phish@x>")
    graph.deliver("c@contoso.com", "<other@x>")

    out = _ok(datadir, f"remediate forward-delete --mids={mid} --to=soc@example.net")
    job = int(re.search(r"job (\d+) queued", out).group(1))
    status = _job_done(datadir, job)
    assert f"Job {job}: forward-delete to soc@example.net, requested by admin" in status and ": done (2 done)" in status
    assert f"MID {mid} b@example.com [onprem]: done" in status and f"MID {mid} c@contoso.com [o365]: done" in status
    assert dovecot.message_ids("b@example.com") == ["<other@x>"]
    assert list(graph.mailboxes["c@contoso.com"].values()) == ["<other@x>"]
    assert graph.forwards == [("c@contoso.com", "<phish@x>", ["soc@example.net"])]
    # The IMAP copy is forwarded by the gateway itself, through its routing (here: the sink), original attached.
    assert wait_for(lambda: any(b"Fwd: Invoice overdue" in m for m in relay.sink.messages()), 20)
    fwd = email.message_from_bytes(next(m for m in relay.sink.messages() if b"Fwd: Invoice overdue" in m),
                                   policy=email.policy.default)
    attached = [p for p in fwd.iter_attachments() if p.get_content_type() == "message/rfc822"]
    assert attached and attached[0].get_content()["Message-ID"] == "<phish@x>"
    system = (datadir / "logs" / "system_logs" / "system.current").read_text()
    assert f"Search and remediate job {job} (requested by admin): forward-delete MID {mid} for b@example.com: done" \
        in system

    # Again: nothing left to act on.
    job2 = int(re.search(r"job (\d+) queued", _ok(datadir, f"remediate delete --mids={mid}")).group(1))
    status = _job_done(datadir, job2)
    assert "2 not found" in status and "no message <phish@x> in the mailbox of b@example.com" in status

    # Forward only: the message stays.
    mid2 = _deliver(relay, datadir, "<keep@x>", ("d@example.com",))
    dovecot.deliver("d@example.com", next(m for m in relay.sink.messages() if b"<keep@x>" in m))
    job3 = int(re.search(r"job (\d+) queued", _ok(datadir, f"remediate forward --mids={mid2} --to=soc@example.net"))
               .group(1))
    assert "1 done" in _job_done(datadir, job3)
    assert dovecot.message_ids("d@example.com") == ["<keep@x>"]
    assert "remediate forward" in _ok(datadir, "remediate status") or f"Job {job3}" in _ok(datadir, "remediate status")


def test_remediate_refuses_what_it_cannot_act_on(datadir):
    assert "not in message tracking" in _fails(datadir, "remediate delete --mids=999")
    assert "forward needs --to=ADDRESS" in _fails(datadir, "remediate forward --mids=1")
    assert "No remediation profile named x" in _fails(datadir, "remediate delete --mids=1 --profile=x")


def test_a_job_interrupted_by_a_stop_resumes_without_redoing_finished_mailboxes(tmp_path):
    import asyncio

    from asyncos_cli.config.remediation import RemediationSection
    from asyncos_cli.config.schema import Config
    from asyncos_cli.config.store import connect
    from asyncos_cli.services import remediation as rm

    conn = connect(tmp_path / "db.sqlite")
    job_id = rm.queue_job(conn, "admin", "delete", "", [
        {"mid": 1, "message_id": "<a@x>", "recipient": "done@nowhere.example", "profile": ""},
        {"mid": 1, "message_id": "<a@x>", "recipient": "left@nowhere.example", "profile": ""}])
    [job] = rm.claim_pending(conn)
    job["items"][0].update(status="done", detail="")
    rm.save_job(conn, job)  # then the daemon stops
    assert rm.requeue_interrupted(conn) == 1
    [job] = rm.claim_pending(conn)
    config = Config.default().with_section(RemediationSection())
    events = []
    job = asyncio.run(rm.run_job(job, config, None, None, None, events.append, lambda j: rm.save_job(conn, j)))
    assert [i["status"] for i in job["items"]] == ["done", "failed"]  # the first is not touched again
    assert "no remediation profile serves left@nowhere.example" in job["items"][1]["detail"]
    assert [e.recipient for e in events] == ["left@nowhere.example"]
    assert rm.jobs(conn, job_id)[0]["items"][1]["status"] == "failed"
    conn.close()
