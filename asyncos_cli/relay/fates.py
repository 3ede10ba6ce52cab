"""A recipient's fate, recorded on the message in memory and said as an event.

The delivery agent records what the far end answered; the queue manager
records what a filter or an administrator decided. Only the queue manager
writes the queue on disk afterwards.
"""

from __future__ import annotations

from typing import Callable

from asyncos_cli.events import Event
from asyncos_cli.events.mail import (
    BounceRecorded,
    DeliveryDelayed,
    RecipientBounced,
    RecipientsDropped,
)

from .dsn import status_code
from .spool import BOUNCED, DROPPED, QueuedMessage, Recipient

Emit = Callable[[Event], None]


def bounce(emit: Emit, msg: QueuedMessage, rcpts: list[Recipient], reply: str, dcid: int = 0) -> None:
    for r in rcpts:
        r.state, r.detail = BOUNCED, reply
        emit(RecipientBounced(dcid, msg.mid, r.rid, status_code(reply), reply))
        emit(BounceRecorded(dcid, msg.mid, r.rid, msg.sender, r.address, status_code(reply), reply))


def drop(emit: Emit, msg: QueuedMessage, rcpts: list[Recipient], by: str) -> None:
    for r in rcpts:
        r.state, r.detail = DROPPED, by
    if rcpts:
        emit(RecipientsDropped(msg.mid, tuple(r.rid for r in rcpts), by))


def delay(emit: Emit, msg: QueuedMessage, rcpts: list[Recipient], reason: str, dcid: int = 0,
          detail: bool = False) -> None:
    """A temporary failure: the recipients stay pending for the next attempt."""
    if detail:
        for r in rcpts:
            r.detail = reason
    msg.last_error = reason
    emit(DeliveryDelayed(dcid, msg.mid, tuple(r.rid for r in rcpts), reason))
