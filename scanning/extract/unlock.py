"""Passphrases to try on protected content, in order, within one time budget per message.

The administrator's passphrases come first, by priority; passphrases
harvested from the message text (when that option is on) come after them.
Each candidate carries a label ("priority 0", "message text 1") and the
label, never the passphrase, is what logs and verdicts show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

#: The reason given when candidates were tried and none fitted.
NOT_OPENED = "no passphrase opened it"


class BudgetExceeded(Exception):
    """The message's time for passphrase trials is spent."""


@dataclass
class Unlocker:
    candidates: list[tuple[str, str]] = field(default_factory=list)
    budget_seconds: float = 1.0
    #: The most one protected attachment may take (its share is also the budget divided among the message's
    #: protected attachments), so decoys ahead of the real attachment cannot spend the whole budget.
    share_seconds: float | None = None
    trials: int = 0
    _deadline: float | None = None
    _share_deadline: float | None = None
    _share: float = 0.0
    _share_trials: int = 0

    def share(self, seconds: float | None) -> None:
        """The next trials are one attachment's: at most ``seconds`` from now (None: no share of its own).

        The first trial is always owed while the message's budget lasts, so a share smaller than one trial of a
        slow format still tries the first passphrase."""
        self._share = seconds or 0.0
        self._share_trials = 0
        self._share_deadline = None if seconds is None else time.monotonic() + seconds

    def add_harvested(self, words: list[str]) -> None:
        known = {p for _, p in self.candidates}
        for i, word in enumerate(w for w in words if w not in known):
            self.candidates.append((f"message text {i}", word))

    def remaining(self) -> float:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.budget_seconds
        return self._deadline - time.monotonic()

    def attempts(self, estimated_cost: float = 0.0):
        """(label, passphrase) pairs while the budget lasts; BudgetExceeded when it ran out before the end.

        ``estimated_cost`` is what one trial takes: a trial that cannot finish
        inside the remaining budget is not started.
        """
        for label, passphrase in self.candidates:
            left = self.remaining()
            if left < estimated_cost or left <= 0:
                raise BudgetExceeded(f"passphrase budget of {self.budget_seconds:g} s spent "
                                     f"after {self.trials} trials")
            if (self._share_deadline is not None and self._share_trials
                    and time.monotonic() + estimated_cost > self._share_deadline):
                raise BudgetExceeded(f"passphrase budget spent: this attachment's share of {self._share:.3g} s "
                                     f"is used up after {self._share_trials} trials")
            self.trials += 1
            self._share_trials += 1
            yield label, passphrase


NO_PASSPHRASES = Unlocker([], 0.0)
