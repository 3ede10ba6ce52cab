"""saveconfig / loadconfig / showconfig: exact round trips, strict refusal of bad files."""

from __future__ import annotations

import pytest

from asyncos_cli.config.cluster import open_store
from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.schema import HttpProxy, OutboundSection
from asyncos_cli.config.secrets import Keyring
from asyncos_cli.config.session import Session

PROXY_SECRET = "Proxy-Secret-4711"


def _set_proxy_secret(datadir, secret=PROXY_SECRET):
    dd = DataDir(datadir)
    store = open_store(dd)
    s = Session(store, "admin")
    proxy = HttpProxy("proxy.example.com", 8080, "svc", Keyring(dd.key_file).seal(secret))
    s.stage(OutboundSection(proxy=proxy, timeout_seconds=25))
    s.commit("proxy")
    snap = store.snapshot()
    store.close()
    return snap


def _head(datadir):
    store = open_store(DataDir(datadir))
    try:
        return store.snapshot()
    finally:
        store.close()


def test_saveconfig_then_loadconfig_restores_exactly_with_secrets(cli, datadir, tmp_path):
    saved = _set_proxy_secret(datadir)
    path = tmp_path / "saved.xml"
    cli("-c", f"saveconfig {path}")
    text = path.read_text()
    assert PROXY_SECRET not in text and 'encrypted="yes"' in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    cli("-c", "sethostname other.example.com; commit change")
    _set_proxy_secret(datadir, "A-different-secret-1")
    assert _head(datadir).config != saved.config
    r = cli("-c", f"loadconfig {path}; commit restore")
    assert "Values have been loaded" in r.stdout
    assert _head(datadir).config == saved.config  # secrets included: same tokens
    r = cli("-c", f"loadconfig {path}")
    assert "No changes detected" in r.stdout


def test_masked_file_keeps_current_secret_and_says_so(cli, datadir, tmp_path):
    saved = _set_proxy_secret(datadir)
    path = tmp_path / "masked.xml"
    cli("-c", f"saveconfig {path} --passphrases=mask")
    assert "*****" in path.read_text()
    r = cli("-c", f"loadconfig {path}")
    assert "outbound.proxy.passphrase was masked" in r.stdout
    assert _head(datadir).config == saved.config


def test_plain_file_is_sealed_on_load(cli, datadir, tmp_path):
    _set_proxy_secret(datadir)
    path = tmp_path / "plain.xml"
    cli("-c", f"saveconfig {path} --passphrases=plain")
    assert PROXY_SECRET in path.read_text()
    text = path.read_text().replace(PROXY_SECRET, "Brand-New-Secret-2")
    path.write_text(text)
    cli("-c", f"loadconfig {path}; commit new secret")
    snap = _head(datadir)
    assert Keyring(DataDir(datadir).key_file).reveal(snap.config.outbound.proxy.passphrase) == "Brand-New-Secret-2"


BROKEN = {
    "truncated": (lambda t: t[: len(t) // 2], "not well-formed XML"),
    "foreign": (lambda t: '<?xml version="1.0"?>\n<config product="esa">\n</config>\n', "not an asyncos-cli configuration"),
    "missing section": (lambda t: t.replace(t[t.index("  <logs>"): t.index("</logs>") + 7], ""), "<logs> is missing"),
    "missing setting": (lambda t: t.replace("    <retries>1</retries>\n", ""), "<retries> is missing"),
    "bad value": (lambda t: t.replace("<retries>1</retries>", "<retries>many</retries>"), "expected a whole number"),
    "invalid value": (lambda t: t.replace("<hostname>ironport.example.com</hostname>", "<hostname>bad_name</hostname>"), "hostname"),
    "unknown setting": (lambda t: t.replace("<retries>1</retries>", "<retries>1</retries><colour>red</colour>"), "unknown setting <colour>"),
    "entity": (lambda t: '<?xml version="1.0"?>\n<!DOCTYPE config [<!ENTITY a "aaaa">]>\n<config product="asyncos-cli" format="1"/>', "document type declarations"),
    "empty": (lambda t: "", "not well-formed"),
    "foreign key": (lambda t: t.replace("<proxy unset=\"yes\"/>", '<proxy><host>p.example.com</host><port>1</port><username>u</username><passphrase encrypted="yes">gAAAAABnotavalidtoken</passphrase></proxy>'), "cannot be opened"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_files_change_nothing_and_say_what_is_wrong(cli, datadir, tmp_path, case):
    good = tmp_path / "good.xml"
    cli("-c", f"saveconfig {good}")
    mangle, expected = BROKEN[case]
    bad = tmp_path / "bad.xml"
    bad.write_text(mangle(good.read_text()))
    before = _head(datadir)
    r = cli("-c", f"loadconfig {bad}; commit should not run", check=False)
    assert r.returncode != 0
    assert "Parsing failed" in r.stderr and expected in r.stderr, r.stderr
    if case in ("missing setting", "bad value", "invalid value", "unknown setting", "entity", "truncated"):
        assert "line " in r.stderr
    assert _head(datadir).version.id == before.version.id
    assert _head(datadir).config == before.config


def test_loadconfig_missing_file(cli, tmp_path):
    r = cli("-c", f"loadconfig {tmp_path / 'nope.xml'}", check=False)
    assert r.returncode == 1 and 'Error: the file "' in r.stderr and "does not exist" in r.stderr


def test_showconfig_masks_by_default(cli, datadir):
    _set_proxy_secret(datadir)
    out = cli("-c", "showconfig").stdout
    assert '<passphrase masked="yes">*****</passphrase>' in out and PROXY_SECRET not in out
    out = cli("-c", "showconfig --passphrases=encrypt").stdout
    assert 'encrypted="yes"' in out and PROXY_SECRET not in out
    r = cli("-c", "showconfig --passphrases=plain", check=False)
    assert r.returncode != 0


def test_a_file_of_the_earlier_format_loads_and_takes_defaults_for_later_settings(cli, datadir, tmp_path):
    import re

    path = tmp_path / "saved.xml"
    cli("-c", f"saveconfig {path}")
    # what the previous release wrote: format 1, listeners without the settings format 2 added
    older = re.sub(r"\s*<(idle_timeout_seconds|max_header_count|max_header_bytes)>[^<]*</\1>", "", path.read_text())
    assert "idle_timeout_seconds" not in older
    (tmp_path / "v1.xml").write_text(older.replace('format="3"', 'format="1"'))
    assert "No changes detected" in cli("-c", f"loadconfig {tmp_path / 'v1.xml'}").stdout
    # a file that claims the current format must be complete
    (tmp_path / "v3.xml").write_text(older)
    r = cli("-c", f"loadconfig {tmp_path / 'v3.xml'}", check=False)
    assert r.returncode != 0 and "the setting <idle_timeout_seconds> is missing" in r.stderr


def test_a_file_of_format_2_written_before_later_sections_loads_with_moved_settings_kept(cli, datadir, tmp_path):
    """What the release of format 2 wrote: no interfaces, admin access, bounce profiles, DKIM or DMARC sections, no
    SPF/DMARC/DKIM settings in the mail flow policies, the SSH address, port and idle timeout in the ssh section
    and the retry schedule in the delivery section (retired since): those move to the Management interface,
    adminaccessconfig and the Default bounce profile; the rest take defaults."""
    import re
    import xml.etree.ElementTree as ET

    path = tmp_path / "saved.xml"
    cli("-c", f"saveconfig {path}")
    root = ET.fromstring(path.read_text())
    assert root.get("format") == "3"
    for section in ("interfaces", "admin_access", "domainkeys", "dmarc", "bounces"):
        root.remove(root.find(section))
    ET.SubElement(root.find("delivery"), "retry_initial_seconds").text = "120"
    for policy in root.iter("policy"):
        for setting in [s for s in policy if re.fullmatch(r"spf\w*|dkim_\w+|dmarc_\w+|smtp_auth", s.tag)]:
            policy.remove(setting)
    ssh = root.find("ssh")
    for tag, value in (("listen", "127.0.0.1"), ("port", "2299"), ("idle_timeout_minutes", "45")):
        ET.SubElement(ssh, tag).text = value
    text = ET.tostring(root, encoding="unicode")
    assert "<domainkeys>" not in text and "<spf>" not in text and "<port>2299</port>" in text
    (tmp_path / "v2.xml").write_text(text.replace('format="3"', 'format="2"'))
    r = cli("-c", f"loadconfig {tmp_path / 'v2.xml'}; commit format 2", check=False)
    assert r.returncode == 0, r.stderr
    assert "Management (127.0.0.1/the system host name): SSH 2299," in cli("-c", "interfaceconfig print").stdout
    assert "Inactivity timeout (CLI, SSH, API and web interface): 45 minutes" in cli(
        "-c", "adminaccessconfig print").stdout
    assert "SPF/SIDF off" in cli("-c", "listenerconfig hostaccess print").stdout
    assert "Initial number of seconds to wait before retrying a message: 120" in cli("-c", "bounceconfig print").stdout
    # the same file claiming this format is refused: it lacks settings format 3 holds
    (tmp_path / "v3.xml").write_text(text)
    r = cli("-c", f"loadconfig {tmp_path / 'v3.xml'}", check=False)
    assert r.returncode != 0 and "is missing" in r.stderr, r.stderr


def test_the_settings_format_3_holds_have_not_changed():
    """A setting added or removed needs a new file format (xmlio.FORMAT, FORMAT_SETTINGS): files written before
    it are then read as an earlier format, leniently, instead of being refused as incomplete."""
    from asyncos_cli.config import xmlio

    assert xmlio.settings_fingerprint() == xmlio.FORMAT_SETTINGS, (
        "the settings changed: bump xmlio.FORMAT, add it to READS and record settings_fingerprint() in "
        "FORMAT_SETTINGS")
