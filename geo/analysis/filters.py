"""Filters shared by every analysis: sources, categories, dates and named time windows.

A :class:`EventFilter` is plain data (hashable, so the app can cache on it);
:func:`apply_filter` applies it to an events frame and :func:`window_mask`
decides window membership in the workspace's local time, so ``07:00`` means
07:00 in Beijing whatever the server's clock says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from geo.settings import SOURCES, Settings, TimeWindow


@dataclass(frozen=True)
class EventFilter:
    """What to analyse.

    Parameters
    ----------
    window : str
        Name of a time window of the workspace (``all``, ``morning_peak`` …).
    sources, categories : tuple of str
        Empty means all.
    since, until : datetime.date, optional
        Local dates, both inclusive.
    """

    window: str = "all"
    sources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None

    def describe(self) -> dict[str, object]:
        return {"window": self.window, "sources": list(self.sources), "categories": list(self.categories),
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


def window_mask(times: pd.Series, window: TimeWindow, timezone: str) -> np.ndarray:
    """Whether each (tz-aware) time falls in the window, judged in local time.

    ``end`` is exclusive; a window with ``end <= start`` crosses midnight
    (``19:00``–``07:00`` holds 23:30 and 06:59 but not 07:00).  The weekday
    test uses the local weekday of the moment itself.
    """
    start, end = window.minutes()
    every_day = set(window.days) >= set(range(7))
    known = times.notna().to_numpy()  # a missing time is in no window
    if start == end and every_day:
        return known
    wall = local_wall_ns(times, timezone)
    minutes = (wall // _NS_PER_MINUTE) % 1440
    if start == end:
        in_time = known
    elif start < end:
        in_time = known & (minutes >= start) & (minutes < end)
    else:
        in_time = known & ((minutes >= start) | (minutes < end))
    if every_day:
        return in_time
    weekday = (wall // _NS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    return in_time & np.isin(weekday, np.array(window.days))


_NS_PER_MINUTE = 60 * 10**9
_NS_PER_DAY = 86_400 * 10**9


def local_wall_ns(times: pd.Series, timezone: str) -> np.ndarray:
    """Local wall-clock time of each (tz-aware) moment as int64 nanoseconds since 1970-01-01 00:00 local.

    Floor-dividing by a minute or a day gives the local time of day and the local date without
    building Python objects (``.dt.date`` costs a hundred times more on 1e5 events).
    """
    wall = times.dt.tz_convert(timezone).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return wall.view(np.int64)


def window_hours_per_day(window: TimeWindow) -> float:
    """Length of the window in hours on a day it applies."""
    start, end = window.minutes()
    span = (end - start) % 1440 or 1440
    return span / 60.0


def window_days(window: TimeWindow, since: date, until: date) -> int:
    """Number of days from ``since`` to ``until`` (inclusive) on which the window applies."""
    days = pd.date_range(since, until, freq="D")
    return int(np.isin(days.day_of_week, np.array(window.days)).sum())


def apply_filter(events: pd.DataFrame, flt: EventFilter, settings: Settings) -> pd.DataFrame:
    """Rows of ``events`` that pass the filter (a view-safe copy)."""
    unknown = set(flt.sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown source(s) {sorted(unknown)}; sources are {', '.join(SOURCES)}")
    known_categories = {c.code for c in settings.all_categories} | {"other"}
    bad = set(flt.categories) - known_categories
    if bad:
        raise ValueError(f"unknown category code(s) {sorted(bad)}; known: {', '.join(sorted(known_categories))}")
    keep = np.ones(len(events), dtype=bool)
    if flt.sources:
        keep &= events["source"].isin(flt.sources).to_numpy()
    if flt.categories:
        keep &= events["category"].isin(flt.categories).to_numpy()
    if flt.since is not None or flt.until is not None:
        # local dates as whole days since 1970-01-01 (no Python date objects)
        days = local_wall_ns(events["occurred_at"], settings.timezone) // _NS_PER_DAY
        epoch = date(1970, 1, 1)
        if flt.since is not None:
            keep &= days >= (flt.since - epoch).days
        if flt.until is not None:
            keep &= days <= (flt.until - epoch).days
    keep &= window_mask(events["occurred_at"], settings.window(flt.window), settings.timezone)
    return events.loc[keep].copy()


def date_span(events: pd.DataFrame, flt: EventFilter, settings: Settings) -> tuple[date, date]:
    """The local date range an analysis covers: the filter's, else the data's."""
    local = events["occurred_at"].dt.tz_convert(settings.timezone)
    since = flt.since or (local.min().date() if len(local) else date.today())
    until = flt.until or (local.max().date() if len(local) else date.today())
    return since, until
