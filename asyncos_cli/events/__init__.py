"""Typed events and the bus that carries them to logs, tracking and counters.

The event types live beside this module by subsystem (events.system, .shell,
.auth, .mail), so a batch command imports only the few it emits.

Components emit events; subscribers turn them into log lines, tracking
records, counters, traps and alert mails. No component writes a log file or
a counter itself. Each event class names the log it belongs in and how it
reads there (``log_line``), so the log subscriber stays one small loop.

Handlers run synchronously in the emitting thread; a failing handler is
logged and the others still run (mitmproxy's safecall).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, ClassVar


@dataclass(frozen=True)
class Event:
    #: The log type this event is written to (None: not logged).
    log_type: ClassVar[str | None] = None
    #: Further log types the line also goes to (Configuration History, Reputation Engine, ...).
    also_logged_to: ClassVar[tuple[str, ...]] = ()
    level: ClassVar[str] = "Information"
    at: float = field(default_factory=time.time, kw_only=True)

    def log_line(self) -> str:
        return ""

    def log_lines(self) -> list[str]:
        """The appliance lines this event stands for (most events: one)."""
        return [self.log_line()]


#: Characters that would end or forge a log line in a file, a syslog stream or a SIEM parser:
#: C0 controls, DEL, C1 controls (NEL) and the Unicode line and paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """One log line stays one line, whatever a user, a client or a message put in a value."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                                               else f"\\u{ord(m.group()):04x}"), text)


Handler = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        #: Concrete event type -> every handler it reaches (its own and its base classes'), worked out once.
        self._reach: dict[type, tuple[Handler, ...]] = {}
        self.emitted = 0
        self.handler_failures = 0

    def subscribe(self, event_type: type[Event], handler: Handler) -> None:
        """``event_type`` may be a base class: ``Event`` receives everything."""
        self._handlers[event_type].append(handler)
        self._reach.clear()

    def emit(self, event: Event) -> None:
        self.emitted += 1
        handlers = self._reach.get(type(event))
        if handlers is None:
            handlers = self._reach[type(event)] = tuple(
                h for cls in type(event).__mro__ for h in self._handlers.get(cls, ()))
        for handler in handlers:
            try:
                handler(event)
            except Exception:  # one broken subscriber must not stop the others
                import logging

                self.handler_failures += 1
                logging.getLogger("asyncos.events").exception("event handler %r failed on %r", handler, event)


def log_subscriber(logs) -> Handler:
    """The subscriber that writes every loggable event to its log type."""

    def write(event: Event) -> None:
        if event.log_type is not None:
            # Values are escaped here, once for every log and every way out (file, syslog).
            lines = [escape_controls(line) for line in event.log_lines()]
            # Warnings and worse also go to the error log, as the appliance's error_logs gather them.
            errors = ("error",) if event.level in ("Warning", "Critical") else ()
            for log_type in (event.log_type, *event.also_logged_to, *errors):
                logs.write_lines(log_type, event.level, lines)

    return write
