"""A shell session's pending changes (DESIGN §4: the commit model).

The session reads a committed snapshot, stages whole sections, and commits
them as one new version. For each staged section it remembers the version
that section last changed in when the session first touched it; the store
refuses the commit if another session has committed that section since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .fields import ConfigError
from .schema import Config, Section
from .store import ConfigStore, Snapshot, VersionInfo


@dataclass(frozen=True)
class Checkpoint:
    pending: Mapping[str, Section]
    bases: Mapping[str, int]


class Session:
    def __init__(self, store: ConfigStore, user: str):
        self.store = store
        self.user = user
        self._snapshot: Snapshot = store.snapshot()
        self._pending: dict[str, Section] = {}
        self._bases: dict[str, int] = {}
        #: Sections staged to be written even when unchanged (a cluster mode's own copy of a setting it has
        #: read from another mode's).
        self._adopted: set[str] = set()

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def config(self) -> Config:
        """What the session sees: the snapshot with its pending changes applied."""
        cfg = self._snapshot.config
        for section in self._pending.values():
            cfg = cfg.with_section(section)
        return cfg

    def refresh(self) -> None:
        """Read the newest version; with nothing pending, the session simply moves on to it."""
        if self.store.head_id() != self._snapshot.version.id:
            snap = self.store.snapshot()
            self._snapshot = snap

    def stage(self, section: Section) -> None:
        section.commit_check()  # refused when staged, so the command that made it says why
        if section.name not in self._bases:
            self._bases[section.name] = self._snapshot.changed_in.get(section.name, 0)
        if section.name not in self._adopted and section == self._snapshot.config[section.name] and (
            self._bases[section.name] == self._snapshot.changed_in.get(section.name, 0)
        ):
            # Edited back to what is committed: nothing pending for it any more.
            self._pending.pop(section.name, None)
            self._bases.pop(section.name, None)
            return
        self._pending[section.name] = section

    def stage_config(self, config: Config) -> list[str]:
        """Stage every section that differs from the current view; returns their names."""
        changed = []
        current = self.config
        for section in config.sections():
            if section != current[section.name]:
                self.stage(section)
                changed.append(section.name)
        return changed

    def adopt(self, section: Section) -> None:
        """Stage a section to be written at the store's mode even if it equals what is read there."""
        self._adopted.add(section.name)
        self.stage(section)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def pending_names(self) -> list[str]:
        return [n for n in self.config if n in self._pending]

    def clear(self) -> None:
        self._pending.clear()
        self._bases.clear()
        self._adopted.clear()
        self.refresh()

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(dict(self._pending), dict(self._bases))

    def restore(self, cp: Checkpoint) -> None:
        self._pending = dict(cp.pending)
        self._bases = dict(cp.bases)

    def commit(self, comment: str, rollback: bool = True) -> VersionInfo:
        """Write the pending sections; on conflict they stay pending, untouched."""
        if not self._pending:
            from .store import NothingToCommit

            raise NothingToCommit()
        for section in self._pending.values():
            section.commit_check()
        if started := self.store.not_configured_here([n for n in self._pending if n not in self._adopted]):
            raise ConfigError(f"{', '.join(started)} {'is' if len(started) == 1 else 'are'} not yet configured "
                              f"for the current cluster mode ({self.store.mode}): run the command again and choose "
                              "to start or copy its settings here, or clusterset, or switch modes (clustermode)")
        info = self.store.commit(self._pending, self._bases, self.user, comment, rollback)
        self._pending.clear()
        self._bases.clear()
        self._adopted.clear()
        self._snapshot = self.store.snapshot()
        return info


__all__ = ["Session", "Checkpoint", "ConfigError"]
