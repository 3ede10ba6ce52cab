"""The aiosmtpd internals the gateway adjusts (asyncos_cli/relay/smtpd.py) are still what it relies on."""

from __future__ import annotations

import inspect

import aiosmtpd.smtp
import pytest
from aiosmtpd.smtp import SMTP

from asyncos_cli.relay import smtpd


def test_the_installed_aiosmtpd_is_a_supported_release():
    low, high = smtpd.SUPPORTED
    assert low <= smtpd.version() < high, aiosmtpd.__version__


@pytest.mark.parametrize("owner, name", smtpd.INTERNALS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_internal_relied_on_exists(owner, name):
    assert hasattr(owner, name)


def test_smtp_init_still_scans_with_inspect_getmembers_and_dir():
    """smtpd.install answers these per class: dir() listing only the handle_* and smtp_* names it filters for."""
    import re

    source = inspect.getsource(SMTP.__init__)
    assert "inspect.getmembers(" in source and "inspect.signature(ehlo_hook)" in source
    scans = re.findall(r"for m in dir\((\w+)\)\s+if m\.startswith\(\"(\w+)\"\)", source)
    assert sorted(scans) == [("handler", "handle_"), ("self", "smtp_")], scans
    assert source.count("dir(") == 2


def test_the_overridden_methods_keep_their_signatures():
    for name in ("_getaddr", "push", "handle_exception"):
        ours = inspect.signature(getattr(smtpd.AdjustedSMTP, name))
        theirs = inspect.signature(getattr(SMTP, name))
        assert list(ours.parameters) == list(theirs.parameters), name
    assert list(inspect.signature(SMTP._timeout_cb).parameters) == ["self"]
    assert inspect.iscoroutinefunction(SMTP._handle_client)


class _Probe(smtpd.AdjustedSMTP):
    def __init__(self):  # no event loop, no handler: only the parser is used
        self.local_part_limit = 0


@pytest.mark.parametrize("path", [
    "<user@example.com>", "<first.last+tag@sub.example.org> SIZE=1000", "<a@b.example> BODY=8BITMIME",
    "<a@b.example> SIZE=1 ", "<a@b.example>\tSIZE=1", "<o'brien@example.com>", "<x@example.com>  ",
    "<UPPER@EXAMPLE.COM>",
])
def test_the_fast_path_parser_agrees_with_aiosmtpd(path):
    assert _Probe()._getaddr(path) == SMTP._getaddr(_Probe(), path)


def test_paths_the_fast_parser_does_not_take_go_to_aiosmtpd():
    for path in ('<"quoted local"@example.com>', "<a..b@example.com>", "<.a@example.com>", "<@relay.example:u@x.example>"):
        assert _Probe()._getaddr(path) == SMTP._getaddr(_Probe(), path)


def test_install_answers_the_scans_per_class():
    smtpd.install()
    assert isinstance(aiosmtpd.smtp.inspect, smtpd._AuthScanOnly)
    assert aiosmtpd.smtp.dir(_Probe()) == aiosmtpd.smtp.dir(_Probe())
    assert all(n.startswith("auth_") for n, _ in aiosmtpd.smtp.inspect.getmembers(_Probe()))
