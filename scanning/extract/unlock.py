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
    _share: float | None = None
    _share_trials: int = 0

    def share(self, seconds: float | None) -> None:
        """The next trials are one attachment's: at most ``seconds`` of them (None: no share of its own).

        The share's clock starts at the attachment's first trial (opening it and importing its reader are not
        trials), and that first trial is always owed while the message's budget lasts. It counts the worker's
        CPU time, not the wall clock's: what it divides is the work of trials, and a busy machine must not decide
        which attachment gets tried."""
        self._share = seconds
        self._share_trials = 0
        self._share_deadline = None

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
                raise BudgetExceeded(f"passphrase budget spent: the message's {self.budget_seconds:g} s are used up "
                                     f"after {self.trials} trials")
            if self._share is not None and not self._share_trials:
                self._share_deadline = time.process_time() + self._share
            elif self._share_deadline is not None and time.process_time() + estimated_cost > self._share_deadline:
                raise BudgetExceeded(f"passphrase budget spent: this attachment's share of {self._share:.3g} s "
                                     f"is used up after {self._share_trials} trials")
            self.trials += 1
            self._share_trials += 1
            yield label, passphrase


NO_PASSPHRASES = Unlocker([], 0.0)
