"""Rspamd's HTTP protocol: POST /checkv2 with the raw message as the body and the envelope as headers.

A small HTTP/1.1 client on asyncio streams (one request per connection):
Rspamd's answer is one JSON object with ``action``, ``score``,
``required_score`` and ``symbols``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from urllib.parse import urlsplit


class RspamdUnavailable(Exception):
    """Rspamd could not be reached, failed or did not answer in time."""


async def check(url: str, raw: bytes, envelope: dict, timeout: float) -> dict:
    """The /checkv2 answer for ``raw``; ``envelope``: From, Rcpt (a list), IP, Helo, Queue-Id, Hostname."""
    path, host, port = _where(url)
    lines = [f"POST {path}/checkv2 HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             f"Content-Length: {len(raw)}"]
    for name, value in envelope.items():
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if v not in (None, ""):
                lines.append(f"{name}: {_clean(str(v))}")
    answer = await _exchange(url, ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"), raw, timeout)
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        raise RspamdUnavailable(f"Rspamd answered {head[:80].decode('latin-1')!r}")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    try:
        return json.loads(body)
    except ValueError:
        raise RspamdUnavailable("Rspamd's answer is not JSON") from None


async def version(url: str, timeout: float = 5.0) -> str:
    """What Rspamd says it is ("rspamd/3.4", its Server header) when asked /ping; raises RspamdUnavailable."""
    path, host, port = _where(url)
    answer = await _exchange(url, f"GET {path}/ping HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
                             .encode(), b"", timeout)
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1")
    server = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
                   if line.lower().startswith("server:")), "")
    return server or "Rspamd (it did not name its version)"


def _where(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.path.rstrip("/"), parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def _exchange(url: str, head: bytes, body: bytes, timeout: float) -> bytes:
    """One request on its own connection, the whole answer back (Connection: close)."""
    _, host, port = _where(url)
    tls = urlsplit(url).scheme == "https" or None

    async def talk() -> bytes:
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=tls)
        except OSError as e:
            raise RspamdUnavailable(f"cannot connect to Rspamd at {host}:{port}: {e.strerror or e}") from None
        try:
            writer.write(head)
            writer.write(body)
            await writer.drain()
            return await reader.read()
        except OSError as e:
            raise RspamdUnavailable(f"Rspamd at {host}:{port} closed the connection: {e}") from None
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(talk(), timeout)
    except asyncio.TimeoutError:
        raise RspamdUnavailable(f"Rspamd at {host}:{port} did not answer within {timeout:g} s") from None


def _clean(value: str) -> str:
    return " ".join(value.splitlines())


def _unchunk(body: bytes) -> bytes:
    out, rest = [], body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2:]
    return b"".join(out)


def with_urls(raw: bytes, urls: list[str]) -> bytes:
    """The message with one more text part listing the URLs found inside its attachments.

    Rspamd reads URLs from text parts, not from inside documents or archives;
    this hands it the ones the gateway extracted. The original body becomes the
    first part of a multipart/mixed, under its own Content-* fields.
    """
    if not urls:
        return raw
    end = raw.find(b"\r\n\r\n")
    sep = 4
    if end < 0 or (raw.find(b"\n\n") >= 0 and raw.find(b"\n\n") < end):
        end, sep = raw.find(b"\n\n"), 2
    if end < 0:
        end, sep = len(raw), 0
    head, body = raw[:end], raw[end + sep:]
    fields, current = [], []
    for line in head.splitlines():
        if line[:1] in (b" ", b"\t") and current:
            current.append(line)
        else:
            current = [line]
            fields.append(current)
    content, others = [], []
    for f in fields:
        name = f[0].split(b":", 1)[0].strip().lower()
        (content if name.startswith(b"content-") else others if name != b"mime-version" else []).append(f)
    boundary = ("=_gateway_urls_" + secrets.token_hex(8)).encode()
    join = lambda fs: b"".join(b"\r\n".join(f) + b"\r\n" for f in fs)  # noqa: E731
    listing = "\r\n".join(urls).encode("utf-8")
    return (join(others) + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + boundary
            + b"\"\r\n\r\n--" + boundary + b"\r\n" + (join(content) or b"Content-Type: text/plain\r\n") + b"\r\n"
            + body + b"\r\n--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Disposition: inline\r\n\r\n" + listing + b"\r\n--"
            + boundary + b"--\r\n")
