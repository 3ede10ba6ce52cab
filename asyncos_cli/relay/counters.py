"""The relay's `status` counters, kept by one subscriber of the mail events.

No part of the relay bumps a counter: each counts an event that is emitted
anyway (for the logs and tracking), so a counter and its log line never
disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from asyncos_cli.events import Event
from asyncos_cli.events.mail import (
    BounceGenerated,
    DeliveryDelayed,
    DeliveryDone,
    MessageReceived,
    RecipientBounced,
    RecipientsDropped,
    SdrVerdict,
    SmtpPolicyApplied,
    SmtpRefused,
)


@dataclass
class Counters:
    """The `status` counters of the appliance (since the daemon started)."""

    messages_received: int = 0
    recipients_received: int = 0
    rejected_recipients: int = 0
    generated_bounces: int = 0
    hard_bounced: int = 0
    soft_bounced: int = 0
    completed_recipients: int = 0
    dropped_recipients: int = 0
    #: Connections refused on the client's IP reputation (an SBRS sender group with a reject policy).
    stopped_by_ip_reputation: int = 0
    #: Senders refused at MAIL FROM on their domain's reputation (SDR).
    stopped_by_domain_reputation: int = 0
    #: Bytes of the messages received (the status log's InjBytes).
    injected_bytes: int = 0

    def count(self, event: Event) -> None:
        """The event subscriber: one look-up per event, nothing for the events no counter reads."""
        step = _STEPS.get(type(event))
        if step is not None:
            step(self, event)

    def as_dict(self) -> dict:
        return asdict(self)


def _received(c: Counters, e: MessageReceived) -> None:
    c.messages_received += 1
    c.recipients_received += len(e.recipients)
    c.injected_bytes += e.size


def _refused(c: Counters, e: SmtpRefused) -> None:
    if e.what.startswith("RCPT"):
        c.rejected_recipients += 1


def _policy(c: Counters, e: SmtpPolicyApplied) -> None:
    if e.action in ("reject", "tcprefuse") and e.match.startswith("SBRS"):
        c.stopped_by_ip_reputation += 1


def _sdr(c: Counters, e: SdrVerdict) -> None:
    if e.refused:
        c.stopped_by_domain_reputation += 1


def _bounced(c: Counters, e: RecipientBounced) -> None:
    c.hard_bounced += 1


def _delayed(c: Counters, e: DeliveryDelayed) -> None:
    c.soft_bounced += 1


def _done(c: Counters, e: DeliveryDone) -> None:
    c.completed_recipients += len(e.rids)


def _dropped(c: Counters, e: RecipientsDropped) -> None:
    c.dropped_recipients += len(e.rids)


def _generated(c: Counters, e: BounceGenerated) -> None:
    c.generated_bounces += 1


_STEPS = {MessageReceived: _received, SmtpRefused: _refused, SmtpPolicyApplied: _policy, SdrVerdict: _sdr,
          RecipientBounced: _bounced, DeliveryDelayed: _delayed, DeliveryDone: _done,
          RecipientsDropped: _dropped, BounceGenerated: _generated}

#: The event types a counter reads: the counters subscribe to these only.
COUNTED = tuple(_STEPS)
