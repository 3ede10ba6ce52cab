"""SNMPv3 settings in pysnmp's terms: protocols, keys, the engine ID."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from pysnmp.entity import config as snmp_config

AUTH = {
    "MD5": snmp_config.USM_AUTH_HMAC96_MD5,
    "SHA": snmp_config.USM_AUTH_HMAC96_SHA,
    "SHA-224": snmp_config.USM_AUTH_HMAC128_SHA224,
    "SHA-256": snmp_config.USM_AUTH_HMAC192_SHA256,
    "SHA-384": snmp_config.USM_AUTH_HMAC256_SHA384,
    "SHA-512": snmp_config.USM_AUTH_HMAC384_SHA512,
}
# AES-192/256 need longer keys than MD5 and SHA-1 give; two ways of lengthening them exist. pysnmp's plain
# CFB192/CFB256 are Reeder's (what Cisco devices do, net-snmp's "-x AES-256-C"); its *_BLUMENTHAL ones are
# Blumenthal's draft (net-snmp's "-x AES-256"). snmpconfig's key extension picks one per user.
PRIV = {
    "DES": snmp_config.USM_PRIV_CBC56_DES,
    "AES": snmp_config.USM_PRIV_CFB128_AES,
    "AES-192": snmp_config.USM_PRIV_CFB192_AES,
    "AES-256": snmp_config.USM_PRIV_CFB256_AES,
}
BLUMENTHAL = {
    "AES-192": snmp_config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "AES-256": snmp_config.USM_PRIV_CFB256_AES_BLUMENTHAL,
}
#: RFC 3411 engine ID prefix for enterprise 15497 (high bit set), then format 4 (text).
ENGINE_ID_PREFIX = bytes.fromhex("80003c89") + b"\x04"


def engine_id_octets(settings, serial: str) -> bytes:
    """The configured engine ID, or the enterprise's prefix and the serial number (stable per machine)."""
    if settings.engine_id:
        text = settings.engine_id[2:] if settings.engine_id.lower().startswith("0x") else settings.engine_id
        return bytes.fromhex(text)
    return ENGINE_ID_PREFIX + (serial or "gateway").encode("ascii", "replace")[:27]


def usm_protocols(settings, keyring):
    """((auth protocol, key), (priv protocol, key)) for the configured security level."""
    level = settings.v3_level
    if level == "noAuthNoPriv":
        return (snmp_config.USM_AUTH_NONE, None), (snmp_config.USM_PRIV_NONE, None)
    auth = (AUTH[settings.auth_protocol], keyring.reveal(settings.auth_passphrase))
    if level == "authNoPriv":
        return auth, (snmp_config.USM_PRIV_NONE, None)
    table = BLUMENTHAL if settings.priv_key_extension == "blumenthal" and settings.priv_protocol in BLUMENTHAL \
        else PRIV
    return auth, (table[settings.priv_protocol], keyring.reveal(settings.priv_passphrase))


@contextmanager
def engine_files_in(directory):
    """pysnmp keeps an engine's boot counter under tempfile.gettempdir(); build engines with it pointing into
    the data directory (the daemon builds them on its one loop thread, between awaits)."""
    import tempfile

    if directory is None:
        yield
        return
    Path(directory).mkdir(parents=True, exist_ok=True, mode=0o700)
    saved, tempfile.tempdir = tempfile.tempdir, str(directory)
    try:
        yield
    finally:
        tempfile.tempdir = saved
