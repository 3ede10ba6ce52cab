"""File reputation and analysis over HTTPS (ampconfig), through an upstream proxy when one is set.

The protocol (a reputation service speaking it is what ``url`` names):

- ``POST {url}/v1/lookup`` with ``{"sha256": [..]}`` answers
  ``{"results": {SHA256: {"verdict": "clean|malicious|unknown", "threat": NAME}}}``;
- ``POST {url}/v1/analysis`` with the file as the body (``X-SHA256``,
  ``X-File-Name``) queues it for analysis (2xx).

The query timeout T (20 to 30 s) bounds the whole lookup: the first try is
abandoned at T/2 and retried once with what is left. When both fail the files
are "unknown" and the failure is an event (an alert; a proxy failure is also
the upstreamProxyFailure trap). Clean and malicious answers are cached.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from asyncos_cli.config.schema import Config

from ..failures import describe


@dataclass
class QueryFailed(Exception):
    reason: str
    #: "host:port" when the upstream proxy (not the service) failed.
    proxy: str | None = None
    #: Worth a retry (no answer in time, no connection); a refusal (401, 400) is not.
    transient: bool = True

    def __str__(self) -> str:
        return self.reason


class FileReputationClient:
    def __init__(self, config: Config, keyring, verify, on_event):
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="filerep")
        self._cache: dict[str, tuple[str, str, float]] = {}
        #: Queries in flight by their sorted SHA-256 values.
        self._inflight: dict[tuple, asyncio.Future] = {}
        self.keyring, self.on_event = keyring, on_event
        self._verify = verify
        self.configure(config)

    def configure(self, config: Config) -> None:
        """Called from the event loop: everything the request threads share is settled here, once."""
        import threading

        from asyncos_cli.services.outbound import proxy_url_for

        s = config.file_reputation
        self.section = s
        self.proxy = s.proxy or config.outbound.proxy
        self._proxy_url = proxy_url_for(self.proxy, self.keyring)
        self._headers = {"Content-Type": "application/json"}
        if s.api_key is not None:
            self._headers["Authorization"] = f"Bearer {self.keyring.reveal(s.api_key)}"
        self._cache.clear()
        self._session = None
        self._lock = threading.Lock()

    def _http(self):
        with self._lock:  # many request threads, one session (and one CA bundle file written)
            return self._session or self._new_session()

    def _new_session(self):
        import requests
        from requests.adapters import HTTPAdapter

        session = requests.Session()
        session.trust_env = False
        session.verify = self._verify() if callable(self._verify) else self._verify
        if self._proxy_url:
            session.proxies = {"http": self._proxy_url, "https": self._proxy_url}
        adapter = HTTPAdapter(max_retries=0, pool_maxsize=16)  # the one retry is ours, inside the timeout
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self._session = session
        return session

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ lookups

    async def lookup(self, mid: int, files: list[dict]) -> tuple[list[dict], str]:
        """Each file with its verdict; and the failure that made files "unknown" ("" when none)."""
        now = time.time()
        answers: dict[str, tuple[str, str]] = {}
        ask = []
        for f in files:
            hit = self._cache.get(f["sha256"])
            if hit and hit[2] > now:
                answers[f["sha256"]] = (hit[0], hit[1])
            elif f["sha256"] not in ask:
                ask.append(f["sha256"])
        failure = ""
        if ask:
            try:
                answers.update(await self._shared_query(mid, ask))
            except QueryFailed as e:
                failure = e.reason
                for sha in ask:
                    answers.setdefault(sha, ("unknown", ""))
                self.on_event("failed", mid=mid, reason=e.reason, proxy=e.proxy)
        out = []
        for f in files:
            verdict, threat = answers.get(f["sha256"], ("unknown", ""))
            out.append({k: v for k, v in f.items() if k != "data"} | {"verdict": verdict, "threat": threat})
            self.on_event("verdict", mid=mid, file=out[-1], cached=f["sha256"] not in ask)
        if self.section.analysis and not failure:
            for f in files:
                if answers[f["sha256"]][0] == "unknown" and f.get("data") is not None:
                    asyncio.get_running_loop().create_task(self._upload(mid, f))
        return out, failure

    async def _shared_query(self, mid: int, hashes: list[str]) -> dict[str, tuple[str, str]]:
        """One query for the same files asked by several messages at once (a campaign's attachment)."""
        key = tuple(sorted(hashes))
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._query(mid, list(key)))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(pending)

    async def _query(self, mid: int, hashes: list[str]) -> dict[str, tuple[str, str]]:
        total = float(self.section.query_timeout_seconds)
        start = time.monotonic()
        try:
            return await self._try(hashes, total / 2)
        except QueryFailed as first:
            if not first.transient:
                raise
            left = total - (time.monotonic() - start)
            self.on_event("retry", mid=mid, reason=first.reason, left=left)
            if left <= 0.05:
                raise
            return await self._try(hashes, left)

    async def _try(self, hashes: list[str], budget: float) -> dict[str, tuple[str, str]]:
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._pool, self._post_lookup, hashes, budget)
        try:
            return await asyncio.wait_for(call, budget)  # the thread is abandoned, not waited for
        except asyncio.TimeoutError:
            raise QueryFailed(f"no answer from the file reputation service within {budget:.1f} s") from None

    def _post_lookup(self, hashes: list[str], budget: float) -> dict[str, tuple[str, str]]:
        import requests

        url = self.section.url.rstrip("/") + "/v1/lookup"
        try:
            r = self._http().post(url, json={"sha256": hashes}, headers=self._headers, timeout=(budget, budget))
        except requests.exceptions.ProxyError:
            raise QueryFailed(f"upstream proxy {self.proxy.host}:{self.proxy.port} failed "
                              "(check ampconfig's or outboundconfig's proxy)",
                              f"{self.proxy.host}:{self.proxy.port}") from None
        except requests.exceptions.Timeout:
            raise QueryFailed(f"no answer from the file reputation service within {budget:.1f} s") from None
        except requests.exceptions.SSLError as e:
            raise QueryFailed(f"file reputation service: {describe(e, url)}", transient=False) from None
        except requests.exceptions.RequestException as e:
            raise QueryFailed(f"cannot reach the file reputation service: {describe(e, url)}") from None
        if r.status_code >= 500:
            raise QueryFailed(f"the file reputation service answered HTTP {r.status_code}")
        if r.status_code != 200:
            raise QueryFailed(f"the file reputation service refused the query: HTTP {r.status_code}", transient=False)
        try:
            results = r.json()["results"]
        except (ValueError, KeyError, TypeError):
            raise QueryFailed("the file reputation service's answer is not a lookup result", transient=False) from None
        out = {}
        expires = time.time() + self.section.cache_seconds
        for sha in hashes:
            entry = results.get(sha) or {}
            verdict = str(entry.get("verdict", "unknown")).lower()
            if verdict not in ("clean", "malicious", "unknown"):
                verdict = "unknown"
            threat = str(entry.get("threat") or "")
            out[sha] = (verdict, threat)
            if verdict != "unknown" and self.section.cache_seconds:
                self._cache[sha] = (verdict, threat, expires)
        return out

    async def _upload(self, mid: int, f: dict) -> None:
        loop = asyncio.get_running_loop()
        try:
            status = await loop.run_in_executor(self._pool, self._post_file, f)
            self.on_event("uploaded", mid=mid, file=f, status=status)
        except Exception as e:  # analysis is best effort: the message went on with "unknown" already
            self.on_event("upload_failed", mid=mid, file=f,
                          reason=describe(e, self.section.url.rstrip("/") + "/v1/analysis"))

    def _post_file(self, f: dict) -> int:
        url = self.section.url.rstrip("/") + "/v1/analysis"
        headers = {**self._headers, "Content-Type": "application/octet-stream", "X-SHA256": f["sha256"],
                   "X-File-Name": f["name"].encode("ascii", "replace").decode()}
        timeout = float(self.section.query_timeout_seconds)
        r = self._http().post(url, data=f["data"], headers=headers, timeout=(timeout, timeout))
        if r.status_code >= 300:
            raise RuntimeError(f"HTTP {r.status_code}")
        return r.status_code
