"""Words for thin and odd data: the notes every analysis attaches to its result.

Every analysis (hot spots, zones, posts, segments, trends, gaps, forecast, review, profiles) says
when its answer rests on little or odd data, instead of drawing a blank map or printing a
silent zero.  The checks and their wording live here so that the CLI (``--json`` key ``notes``),
the text output and the app pages say the same thing.

Public API:

- :func:`data_notes` -- notes on a filtered event set: no events, a single day, all events in one
  cell, fewer weeks than a method needs, long empty stretches in time.
- :func:`workspace_notes` -- :func:`data_notes` of a workspace's filtered events plus :func:`grid_note`.
- :func:`grid_note` -- the note when the workspace has no official grids (H3 tiers used instead).
- :func:`active_span` -- the span an analysis over time should cover: the events' own span with
  leading/trailing empty time cut and, unless the user fixed the dates, long empty stretches cut
  (the most recent active stretch is analysed), with the notes saying what was cut.
- :class:`Span` -- the result of :func:`active_span`.
- :class:`NoEventsError` -- raised by analyses that cannot run on zero events (a clear message).
- :class:`Note` -- a note: an English sentence (``str``, what the CLI and ``--json`` print) that also
  carries a catalogue key and its values, so the app can say it in the page's language.

The data layer has no locale: notes are English sentences; those built as :class:`Note` name the
catalogue entry (``note.<key>``) the app translates them with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import GridwatchError

LONG_GAP_DAYS = 90
"""An empty stretch at least this long (days, no events at all) splits the data in time: trends and
forecasts analyse only the most recent active stretch unless ``--since``/``--until`` are given."""


FEW_EVENTS = 30
"""Fewer filtered events than this get a note: too few to tell a pattern from chance."""


class Note(str):
    """An English note that also names its catalogue entry (``note.<key>``) and the values it fills in.

    A ``str`` everywhere (JSON, text output, comparisons); the app reads :attr:`key` and
    :attr:`values` to show it in the page's language.

    Examples
    --------
    >>> n = Note("only 3 events", "few_events", n=3)
    >>> n == "only 3 events", n.key, n.values
    (True, 'few_events', {'n': 3})
    """

    key: str
    values: dict[str, Any]

    def __new__(cls, text: str, key: str = "", **values: Any) -> Note:
        obj = super().__new__(cls, text)
        obj.key, obj.values = key, values
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # cached results are pickled: keep the key and values
        return (_make_note, (str(self), self.key, self.values))


def _make_note(text: str, key: str, values: dict[str, Any]) -> Note:
    return Note(text, key, **values)


class NoEventsError(GridwatchError, ValueError):
    """No events left after filtering: the analysis has nothing to work on."""


def _local_dates(events: pd.DataFrame, settings: Any) -> pd.Series:
    if not len(events):
        return pd.Series([], dtype="datetime64[ns]")
    return events["occurred_at"].dt.tz_convert(settings.timezone).dt.tz_localize(None).dt.normalize()


def describe_filter(flt: Any) -> str:
    """A short phrase naming the active filter (for "no events match ..." messages)."""
    try:
        d = {k: v for k, v in flt.describe().items() if v not in (None, "", (), [], "all")}
    except AttributeError:
        d = {}
    return ", ".join(f"{k}={v}" for k, v in d.items()) or "no filter"


def no_events_message(flt: Any, what: str) -> str:
    """The message an analysis gives when the filter leaves no events."""
    return (f"no events match the filter ({describe_filter(flt)}), so there is no {what}; "
            "widen the dates, window, categories or sources")


def data_notes(events: pd.DataFrame, settings: Any, *, cell_column: str | None = None,
               weeks_needed: int | None = None, method: str = "this analysis",
               flt: Any = None) -> list[str]:
    """Notes on a filtered event set.

    Parameters
    ----------
    events : DataFrame
        The events the analysis uses (already filtered; ``occurred_at`` tz-aware).
    settings : Settings
        For the time zone.
    cell_column : str, optional
        Cell column (e.g. ``"h3_small"``) to check whether every event sits in one cell.
    weeks_needed : int, optional
        Weeks of data the method needs; a shorter span gets a note.
    method : str
        Name of the method in the notes.
    flt : EventFilter, optional
        Named in the "no events" note.

    Returns
    -------
    list of str
        Empty when nothing is odd.
    """
    notes: list[str] = []
    n = len(events)
    if n == 0:
        return [Note(no_events_message(flt, "pattern to find") if flt is not None
                     else "no events: nothing to analyse (an empty result means no data, not 'no pattern')",
                     "no_events")]
    local = _local_dates(events, settings)
    first, last = local.min(), local.max()
    days = int((last - first).days) + 1
    if n < FEW_EVENTS:
        notes.append(Note(f"only {n} event{'s' if n != 1 else ''}: too few for {method} to tell a pattern from "
                          "chance; read any 'not significant' as 'not enough data', not as 'no hot spot'",
                          "few_events", n=n))
    if days == 1:
        notes.append(Note(f"all events fall on a single day ({first.date()}): no pattern over time can be seen",
                          "single_day", day=str(first.date())))
    if weeks_needed is not None and days < 7 * weeks_needed:
        notes.append(Note(f"the events span {days} days, fewer than the {weeks_needed} weeks {method} needs",
                          "few_weeks", days=days, weeks=weeks_needed))
    if cell_column is not None and cell_column in events and events[cell_column].nunique() == 1:
        notes.append(Note("all events fall in one cell: the map shows a single spot, there is no spatial pattern "
                          "to compare it with", "one_cell"))
    gaps = empty_stretches(local, LONG_GAP_DAYS)
    for a, b in gaps:
        notes.append(Note(f"no events at all from {a} to {b} ({(b - a).days + 1} days): a gap in the data "
                          "(an export hole or a change of source?), not a quiet period",
                          "data_gap", start=str(a), end=str(b), days=(b - a).days + 1))
    return notes


def empty_stretches(local_dates: pd.Series, min_days: int) -> list[tuple[date, date]]:
    """Runs of at least ``min_days`` days with no event strictly inside the data's span."""
    if len(local_dates) < 2:
        return []
    d = np.unique(pd.to_datetime(local_dates).to_numpy().astype("datetime64[D]"))
    step = np.diff(d).astype(np.int64)
    out = []
    for i in np.flatnonzero(step - 1 >= min_days):
        a = (d[i] + np.timedelta64(1, "D")).astype(object)
        b = (d[i + 1] - np.timedelta64(1, "D")).astype(object)
        out.append((a, b))
    return out


def grid_note(has_grids: bool) -> list[str]:
    """The note when the workspace has no official grids."""
    if has_grids:
        return []
    return [Note("the workspace has no official grids: results are per H3 cell only (tiers big/middle/small); "
                 "create the workspace with `gridwatch init --grids FILE` to report per 网格", "no_grids")]


@dataclass
class Span:
    """The analysed span and what was cut from the events' span."""

    since: date
    until: date
    notes: list[str] = field(default_factory=list)
    cut_events: int = 0


def active_span(selected: pd.DataFrame, flt: Any, settings: Any, *, gap_days: int = LONG_GAP_DAYS) -> Span:
    """The span an analysis over time covers.

    Dates given in the filter are kept as given (long empty stretches inside them are only
    noted).  Otherwise the span runs from the first to the last *selected* event (so empty
    time before or after the filtered events is not analysed), and when an empty stretch of at
    least ``gap_days`` days splits the events, only the most recent active stretch is analysed;
    the notes say what was cut and how to include it.

    Raises
    ------
    NoEventsError
        When no events are selected and the filter gives no dates.
    """
    local = _local_dates(selected, settings)
    notes: list[str] = []
    if not len(local):
        if flt is not None and flt.since and flt.until:
            return Span(flt.since, flt.until, [no_events_message(flt, "event in the span")])
        raise NoEventsError(no_events_message(flt, "time series to analyse"))
    since = flt.since if flt is not None and flt.since else local.min().date()
    until = flt.until if flt is not None and flt.until else local.max().date()
    gaps = [(a, b) for a, b in empty_stretches(local[(local.dt.date >= since) & (local.dt.date <= until)], gap_days)]
    cut = 0
    if gaps and not (flt is not None and flt.since):
        a, b = gaps[-1]
        cut = int((local.dt.date < b).sum())
        notes.append(f"no events from {a} to {b} ({(b - a).days + 1} days): only the {(until - b).days} days after the "
                     f"gap are analysed ({cut} earlier events left out); give --since to analyse across the gap")
        since = b + timedelta(days=1)
        gaps = gaps[:-1]
    for a, b in gaps:
        notes.append(f"no events from {a} to {b} ({(b - a).days + 1} days) inside the analysed span: "
                     "those periods count as zero")
    return Span(since, until, notes, cut)


def workspace_notes(ws: Any, events: pd.DataFrame, flt: Any, *, tier: str | None = "small",
                    method: str = "this analysis", weeks_needed: int | None = None) -> list[str]:
    """:func:`data_notes` of the events ``flt`` selects, plus :func:`grid_note` for the workspace."""
    from geo.analysis.filters import apply_filter

    selected = apply_filter(events, flt, ws.settings)
    return (data_notes(selected, ws.settings, cell_column=f"h3_{tier}" if tier else None, method=method,
                       weeks_needed=weeks_needed, flt=flt)
            + grid_note(ws.grids is not None))
