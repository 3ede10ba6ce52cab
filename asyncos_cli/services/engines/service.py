"""The engine service: runs clamd, Rspamd and the file reputation lookup for one message, concurrently.

It lives in the daemon's event loop (the scanning workers never open a
socket): the relay hands it a message and what the worker found in it
(``scanning.engines.EngineWork``) and gets back ``EngineResults`` for the
worker's second pass. It watches each engine's health: the first failure of
an outage is an alert, the first success after it a system log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque

from asyncos_cli.config.schema import Config
from asyncos_cli.events.engines import (
    UNAVAILABLE,
    AmpFileUploaded,
    AmpFileVerdict,
    AmpQueryFailed,
    AmpQueryRetried,
    EngineAvailable,
)
from asyncos_cli.events.system import UpstreamProxyFailed

from . import clamd, rspamd
from .filerep import FileReputationClient

ENGINES = ("antispam", "antivirus", "file_reputation")

log = logging.getLogger("asyncos.engines")


class EngineService:
    def __init__(self, config: Config, keyring, emit, verify=True):
        self.emit = emit
        self.config = config
        #: engine -> Counter of verdicts since the daemon started
        self.counts = {e: Counter() for e in ENGINES}
        #: engine -> recent scan times in seconds
        self.latency = {e: deque(maxlen=2000) for e in ENGINES}
        #: engine -> (since, reason) while it is unavailable
        self.down: dict[str, tuple[float, str]] = {}
        self.filerep = FileReputationClient(config, keyring, verify, self._filerep_event)

    def configure(self, config: Config) -> None:
        old, self.config = self.config, config
        if (old.file_reputation != config.file_reputation or old.outbound != config.outbound
                or old.certificates != config.certificates):
            self.filerep.configure(config)
        for engine in list(self.down):
            if not getattr(config, engine).enabled:
                self.down.pop(engine)

    def close(self) -> None:
        self.filerep.close()

    @staticmethod
    def wanted(config: Config) -> bool:
        return config.antivirus.enabled or config.antispam.enabled or config.file_reputation.enabled

    async def examine(self, mid: int, raw: bytes, envelope: dict, work, config: Config) -> dict:
        """{engine: answer} for one message under ``config``, each engine that is on asked at the same time.

        ``work`` is what the scanning worker found to send (scanning.engines.EngineWork); the answers are
        the plain data scanning.engines.EngineResults holds.
        """
        out = {}
        jobs = {}
        if config.antivirus.enabled:
            jobs["antivirus"] = self._antivirus(raw, work, config)
        if config.antispam.enabled:
            jobs["antispam"] = self._antispam(mid, raw, envelope, work, config)
        if config.file_reputation.enabled:
            jobs["file_reputation"] = self._file_reputation(mid, work)
        for engine, result in zip(jobs, await asyncio.gather(*jobs.values(), return_exceptions=True)):
            if isinstance(result, Exception):  # a bug of ours is that engine's failure, not the message's loss
                log.exception("%s engine client failed on MID %d", engine, mid, exc_info=result)
                reason = f"internal error: {type(result).__name__}: {result}"
                result = ({"files": [{k: v for k, v in f.items() if k != "data"} | {"verdict": "unknown", "threat": ""}
                                     for f in work.lookups] + work.unscannable_lookups, "detail": reason}
                          if engine == "file_reputation" else
                          self._failed(engine, reason, getattr(config, engine).unavailable_action))
            out[engine] = result
        return out

    # ------------------------------------------------------------ the engines

    async def _antivirus(self, raw: bytes, work, config: Config) -> dict:
        s = config.antivirus
        if len(raw) > s.max_scan_bytes:
            return self._count("antivirus", {"verdict": "unscannable", "detail": f"message size {len(raw)} bytes is "
                                             f"above the anti-virus limit of {s.max_scan_bytes}"}, 0.0)
        start = time.perf_counter()
        try:
            verdict, name = await clamd.scan(s.clamd, raw, s.timeout_seconds)
            threats, infected, unscannable = [], set(), []
            if verdict == "infected":
                threats.append(name)
            elif verdict == "unscannable":
                unscannable.append(name)
            # Decrypted files always (clamd cannot see through the encryption); top-level files to find which
            # attachment carries what clamd found in the message.
            parts = [p for p in work.av_parts if p[3] or verdict == "infected"]
            answers = await asyncio.gather(*(clamd.scan(s.clamd, data, s.timeout_seconds)
                                             for _, _, data, _ in parts))
            for (label, top, _, decrypted), (v, n) in zip(parts, answers):
                if v == "infected":
                    infected.add(top)
                    if n not in threats:
                        threats.append(n if not decrypted else f"{n} (in {label})")
            in_body = verdict == "infected" and not infected
        except clamd.ClamdUnavailable as e:
            return self._failed("antivirus", str(e), config.antivirus.unavailable_action)
        result = {"verdict": "infected" if threats else "unscannable" if unscannable else "clean",
                  "detail": "; ".join(unscannable), "threats": threats, "infected": sorted(infected),
                  "in_body": in_body}
        return self._count("antivirus", result, time.perf_counter() - start)

    async def _antispam(self, mid: int, raw: bytes, envelope: dict, work, config: Config) -> dict:
        s = config.antispam
        if len(raw) > s.max_scan_bytes:
            return self._count("antispam", {"verdict": "skipped", "detail": f"message size {len(raw)} bytes is above "
                                            f"the anti-spam limit of {s.max_scan_bytes}"}, 0.0)
        start = time.perf_counter()
        try:
            answer = await rspamd.check(s.url, rspamd.with_urls(raw, work.urls),
                                        {**envelope, "Queue-Id": str(mid)}, s.timeout_seconds)
            score = float(answer.get("score", 0.0))
        except (rspamd.RspamdUnavailable, TypeError, ValueError) as e:
            return self._failed("antispam", str(e), config.antispam.unavailable_action)
        symbols = sorted(answer.get("symbols") or {}, key=lambda n: -abs(answer["symbols"][n].get("score", 0)))
        result = {"verdict": "scored", "score": score, "action": answer.get("action", ""), "symbols": symbols[:20],
                  "detail": "", "urls": len(work.urls)}
        return self._count("antispam", result, time.perf_counter() - start)

    async def _file_reputation(self, mid: int, work) -> dict:
        start = time.perf_counter()
        files, failure = (await self.filerep.lookup(mid, work.lookups)) if work.lookups else ([], "")
        files += work.unscannable_lookups
        if failure:
            self._mark_down("file_reputation", failure, "unknown")
        elif work.lookups:
            self._mark_up("file_reputation")
        result = {"files": files, "detail": failure}
        worst = next((v for v in ("malicious", "unscannable", "unknown", "clean")
                      if any(f["verdict"] == v for f in files)), "none")
        self.counts["file_reputation"][worst] += 1
        if work.lookups:
            self.latency["file_reputation"].append(time.perf_counter() - start)
        return result

    # ------------------------------------------------------------ health and counts

    def _count(self, engine: str, result: dict, seconds: float) -> dict:
        self._mark_up(engine)
        verdict = result["verdict"]
        if engine == "antispam" and verdict == "scored":
            verdict = result["action"] or "scored"
        self.counts[engine][verdict] += 1
        if seconds:
            self.latency[engine].append(seconds)
        return result

    def _failed(self, engine: str, reason: str, action: str) -> dict:
        self.counts[engine]["unavailable"] += 1
        self._mark_down(engine, reason, action)
        return {"verdict": "unavailable", "detail": reason}

    def _mark_down(self, engine: str, reason: str, action: str) -> None:
        if engine not in self.down:
            self.down[engine] = (time.time(), reason)
            self.emit(UNAVAILABLE[engine](engine, reason, action))

    def _mark_up(self, engine: str) -> None:
        since = self.down.pop(engine, None)
        if since is not None:
            self.emit(EngineAvailable(engine, time.time() - since[0]))

    def _filerep_event(self, kind: str, **k) -> None:
        if kind == "verdict":
            f = k["file"]
            self.emit(AmpFileVerdict(k["mid"], f["name"], f["sha256"], f["size"], f["type"], f["verdict"],
                                     f["threat"], "cache" if k["cached"] else "cloud"))
        elif kind == "retry":
            self.emit(AmpQueryRetried(k["mid"], k["reason"], k["left"]))
        elif kind == "failed":
            self.emit(AmpQueryFailed(k["mid"], k["reason"]))
            if k["proxy"]:
                self.emit(UpstreamProxyFailed(k["proxy"], "file reputation", k["reason"]))
        elif kind == "uploaded":
            self.emit(AmpFileUploaded(k["mid"], k["file"]["name"], k["file"]["sha256"], f"HTTP {k['status']}"))
        elif kind == "upload_failed":
            self.emit(AmpFileUploaded(k["mid"], k["file"]["name"], k["file"]["sha256"], f"failed: {k['reason']}"))

    def status(self) -> dict:
        out = {}
        for engine in ENGINES:
            section = getattr(self.config, engine)
            times = sorted(self.latency[engine])
            pct = (lambda q: round(times[min(len(times) - 1, int(q * len(times)))] * 1000, 1)) if times else None
            where = section.clamd if engine == "antivirus" else section.url
            state = "off" if not section.enabled else (
                f"unavailable since {time.ctime(self.down[engine][0])}: {self.down[engine][1]}"
                if engine in self.down else "available")
            out[engine] = {"enabled": section.enabled, "endpoint": where, "state": state,
                           "verdicts": dict(self.counts[engine]),
                           "p50_ms": pct(0.5) if pct else None, "p99_ms": pct(0.99) if pct else None}
        return out
