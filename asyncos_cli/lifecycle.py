"""Release and model lifecycle: end-of-life and end-of-service dates.

The table ships with each release and is updated with it. When the running
release or the configured model is past either date, the shell shows an
alert banner at login (local and SSH) and in ``version``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from . import __version__


@dataclass(frozen=True)
class Lifecycle:
    end_of_life: datetime.date
    end_of_service: datetime.date


_d = datetime.date.fromisoformat

#: Releases by "major.minor".
RELEASES = {
    "13.5": Lifecycle(_d("2025-10-31"), _d("2026-10-31")),
    "14.0": Lifecycle(_d("2027-12-31"), _d("2028-12-31")),
}

#: Appliance models (the ``system.model`` setting).
MODELS = {
    "OEG-50": Lifecycle(_d("2024-06-30"), _d("2025-06-30")),
    "OEG-100": Lifecycle(_d("2029-12-31"), _d("2031-12-31")),
    "OEG-300": Lifecycle(_d("2029-12-31"), _d("2031-12-31")),
    "OEG-600": Lifecycle(_d("2030-12-31"), _d("2032-12-31")),
}


def release_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


def alerts(model: str, version: str = __version__, today: datetime.date | None = None) -> list[str]:
    """One line per date that has passed, for the release and for the model."""
    today = today or datetime.date.today()
    out = []
    for what, entry in ((f"AsyncOS release {release_of(version)}", RELEASES.get(release_of(version))),
                        (f"model {model}", MODELS.get(model))):
        if entry is None:
            continue
        if today > entry.end_of_service:
            out.append(f"ALERT: {what} reached end of service on {entry.end_of_service}: it no longer receives "
                       "updates or support. Upgrade now.")
        elif today > entry.end_of_life:
            out.append(f"ALERT: {what} reached end of life on {entry.end_of_life}; end of service is "
                       f"{entry.end_of_service}. Plan the upgrade.")
    return out


def dates(model: str, version: str = __version__) -> list[tuple[str, str]]:
    rows = []
    rel = RELEASES.get(release_of(version))
    if rel:
        rows += [("Release End of Life", str(rel.end_of_life)), ("Release End of Service", str(rel.end_of_service))]
    mod = MODELS.get(model)
    if mod:
        rows += [("Model End of Life", str(mod.end_of_life)), ("Model End of Service", str(mod.end_of_service))]
    return rows
