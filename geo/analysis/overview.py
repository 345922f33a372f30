"""Leader views computed from the events table: KPIs, grid ranking, weekly trend, problem list.

Leaders (区/街道领导) compare a period with the one before it, rank official
grids, follow the weekly trend and work a problem list closed one item at a
time (问题清单、销号管理).  Everything here is a pure function of the events
frame (:func:`geo.store.database.read_events`), the workspace settings and, for hot
cells, a :class:`geo.analysis.hotcells.HotspotResult`; the app and the notebooks draw
the results.

Periods are inclusive ranges of *local* dates (the workspace time zone).  The
previous period is the same number of days immediately before, so a 30-day
period is compared with the 30 days before it, never a partial month with a
full one.

"Closed as of T" uses the close-out time when the export has one: a work
order closed after T was still open at T.  Rows marked closed without a
close-out time count as closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.filters import local_wall_ns
from geo.settings import SOURCES, Settings

PRESET_DAYS: dict[str, int] = {"7d": 7, "30d": 30, "90d": 90}
"""Named rolling periods (days, ending on the as-of date)."""

HOT_BIN = 2
"""A cell counts as hot from Gi* bin +2 (95 % confidence) up."""

TREND_WEEKS = 12
"""Weeks shown by the overview's trend chart (at least)."""

PROBLEM_COLUMNS = ("kind", "item", "category", "since", "age_days", "open_events", "events", "overdue",
                   "closed", "grid_id", "street_name", "phone_masked", "text", "bin")


@dataclass(frozen=True)
class Period:
    """An inclusive range of local dates."""

    since: date
    until: date

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError(f"period ends ({self.until}) before it starts ({self.since}); swap the dates")

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.since - timedelta(days=self.days), self.since - timedelta(days=1))

    def end_instant(self, timezone: str) -> pd.Timestamp:
        """The first instant after the period (local midnight after ``until``), tz-aware."""
        return pd.Timestamp(self.until + timedelta(days=1)).tz_localize(timezone)


def latest_date(events: pd.DataFrame, settings: Settings) -> date:
    """The local date of the latest event (today when there are none)."""
    if events.empty:
        return pd.Timestamp.now(tz=settings.timezone).date()
    return events["occurred_at"].max().tz_convert(settings.timezone).date()


def period_for(events: pd.DataFrame, settings: Settings, preset: str = "30d", *,
               as_of: date | None = None) -> Period:
    """A rolling period of a preset length ending on ``as_of`` (default the latest event's date).

    Examples
    --------
    >>> from geo.settings import Settings
    >>> from geo.store.schema import empty_events
    >>> period_for(empty_events(), Settings(), "7d", as_of=date(2024, 3, 10))
    Period(since=datetime.date(2024, 3, 4), until=datetime.date(2024, 3, 10))
    """
    if preset not in PRESET_DAYS:
        raise ValueError(f"unknown period {preset!r}; use one of {', '.join(PRESET_DAYS)} or give dates")
    end = as_of or latest_date(events, settings)
    return Period(end - timedelta(days=PRESET_DAYS[preset] - 1), end)


def in_period(events: pd.DataFrame, settings: Settings, period: Period) -> np.ndarray:
    """Boolean mask of events whose local date lies in the period."""
    # local dates as whole days since 1970-01-01 (no Python date objects; a missing time is in no period)
    days = local_wall_ns(events["occurred_at"], settings.timezone) // (86_400 * 10**9)
    epoch = date(1970, 1, 1)
    return (days >= (period.since - epoch).days) & (days <= (period.until - epoch).days)


def closed_by(events: pd.DataFrame, instant: pd.Timestamp) -> np.ndarray:
    """Whether each event was closed at ``instant`` (close-out time known and earlier, or no time given)."""
    closed = events["is_closed"].to_numpy(dtype=bool)
    at = events["closed_at"]
    known = at.notna().to_numpy()
    before = np.zeros(len(events), dtype=bool)
    before[known] = (at[known] < instant).to_numpy()
    return closed & (~known | before)


def _change(current: float, previous: float) -> float:
    return (current - previous) / previous if previous else float("nan")


def hotline_status(events: pd.DataFrame, settings: Settings, period: Period, *,
                   overdue_days: int | None = None) -> dict[str, float]:
    """12345 work orders of a period: received, closed by the period's end, closure rate, overdue.

    ``overdue`` counts every hotline order received up to the period's end
    (not only in it) that was still open at the end and older than
    ``overdue_days`` (default ``[settings.ingest] overdue_days``).
    """
    overdue_days = settings.ingest.overdue_days if overdue_days is None else overdue_days
    hot = events[(events["source"] == "hotline").to_numpy()]
    end = period.end_instant(settings.timezone)
    inside = in_period(hot, settings, period)
    closed = closed_by(hot, end)
    received = int(inside.sum())
    closed_n = int((inside & closed).sum())
    age = (end - hot["occurred_at"]).dt.total_seconds().to_numpy() / 86400.0
    upto = (hot["occurred_at"] < end).to_numpy()
    overdue = int((upto & ~closed & (age > overdue_days)).sum())
    return {"received": received, "closed": closed_n,
            "closure_rate": closed_n / received if received else float("nan"), "overdue": overdue}


def kpis(events: pd.DataFrame, settings: Settings, period: Period, *, hot_cells: int | None = None,
         hot_cells_previous: int | None = None, overdue_days: int | None = None) -> pd.DataFrame:
    """Headline figures of a period beside the previous period.

    Returns
    -------
    DataFrame
        One row per KPI — ``events``, ``events_<source>`` for every source,
        ``hotline_closure_rate``, ``hotline_overdue`` and (when given)
        ``hot_cells`` — with ``current``, ``previous`` and ``change``
        (relative; NaN when the previous value is 0).  ``kind`` is
        ``count`` or ``share`` for formatting.
    """
    prev = period.previous()
    cur_mask = in_period(events, settings, period)
    prev_mask = in_period(events, settings, prev)
    cur_src = events.loc[cur_mask, "source"].value_counts()
    prev_src = events.loc[prev_mask, "source"].value_counts()
    rows = [("events", float(cur_mask.sum()), float(prev_mask.sum()), "count")]
    rows += [(f"events_{s}", float(cur_src.get(s, 0)), float(prev_src.get(s, 0)), "count") for s in SOURCES]
    h_cur = hotline_status(events, settings, period, overdue_days=overdue_days)
    h_prev = hotline_status(events, settings, prev, overdue_days=overdue_days)
    rows.append(("hotline_closure_rate", h_cur["closure_rate"], h_prev["closure_rate"], "share"))
    rows.append(("hotline_overdue", float(h_cur["overdue"]), float(h_prev["overdue"]), "count"))
    if hot_cells is not None:
        rows.append(("hot_cells", float(hot_cells),
                     float(hot_cells_previous) if hot_cells_previous is not None else float("nan"), "count"))
    table = pd.DataFrame(rows, columns=["kpi", "current", "previous", "kind"])
    with np.errstate(divide="ignore", invalid="ignore"):
        prev_v = table["previous"].to_numpy(float)
        table["change"] = np.where(prev_v > 0, (table["current"].to_numpy(float) - prev_v) / prev_v, np.nan)
    # a share changes in percentage points, not relative percent
    share = (table["kind"] == "share").to_numpy()
    table.loc[share, "change"] = table.loc[share, "current"] - table.loc[share, "previous"]
    return table[["kpi", "current", "previous", "change", "kind"]]


def grid_ranking(events: pd.DataFrame, grids: gpd.GeoDataFrame, tier: str, settings: Settings,
                 period: Period) -> pd.DataFrame:
    """Official grids of a tier ranked by events per km² in the period, with the change on the previous one.

    Counted from the events' own grid ids (``grid_<tier>``), so each event
    belongs to exactly one grid.

    Returns
    -------
    DataFrame
        ``rank``, ``grid_id``, ``name``, ``unit``, ``street_name``,
        ``events``, ``per_km2``, ``previous``, ``change`` (relative, NaN when
        the previous period had none), ``top_category``, ``closed_share``.
    """
    col = f"grid_{tier}"
    layer = grids[grids["tier"] == tier].set_index("grid_id")
    if layer.empty:
        raise ValueError(f"the official grids have no {tier!r} tier; tiers present: "
                         f"{sorted(grids['tier'].unique())}")
    this = events[in_period(events, settings, period)]
    before = events[in_period(events, settings, period.previous())]
    current = this.groupby(col).size().reindex(layer.index, fill_value=0).to_numpy()
    previous = before.groupby(col).size().reindex(layer.index, fill_value=0).to_numpy()
    # events per grid and category (a groupby: pandas' crosstab aggregates group by group in Python)
    by_cat = this.groupby([col, "category"]).size().unstack(fill_value=0).reindex(layer.index, fill_value=0)
    top = (by_cat.idxmax(axis=1).where(by_cat.sum(axis=1) > 0) if by_cat.shape[1]
           else pd.Series(pd.NA, index=layer.index, dtype="object"))
    closed = this.groupby(col)["is_closed"].mean().reindex(layer.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(previous > 0, (current - previous) / np.maximum(previous, 1), np.nan)
    table = pd.DataFrame({
        "grid_id": layer.index.to_numpy(), "name": layer["name"].to_numpy(), "unit": layer["unit"].to_numpy(),
        "street_name": layer["street_name"].to_numpy(), "events": current,
        "per_km2": current / layer["area_km2"].to_numpy(float), "previous": previous, "change": change,
        "top_category": top.to_numpy(), "closed_share": closed.to_numpy(float),
    })
    table["rank"] = table["per_km2"].rank(method="min", ascending=False).astype("int64")
    table = table.sort_values(["rank", "grid_id"], kind="stable").reset_index(drop=True)
    return table[["rank", *[c for c in table.columns if c != "rank"]]]


def trend_period(period: Period, weeks: int = TREND_WEEKS) -> Period:
    """Whole weeks ending with the period's last day: at least ``weeks`` of them, or the period if longer.

    A 7- or 30-day period alone shows one to five (partly cut) weeks; a
    leader reads a trend over about a quarter.
    """
    monday = period.until - timedelta(days=period.until.weekday())
    start = min(period.since - timedelta(days=period.since.weekday()), monday - timedelta(weeks=weeks - 1))
    return Period(start, period.until)


def weekly_trend(events: pd.DataFrame, settings: Settings, period: Period | None = None) -> pd.DataFrame:
    """Events per ISO week (Monday start, local time) and source.

    Returns
    -------
    DataFrame
        Index ``week`` (the Monday, as a date), one column per source (zeros
        kept), weeks without events included.
    """
    sel = events if period is None else events[in_period(events, settings, period)]
    local = sel["occurred_at"].dt.tz_convert(settings.timezone).dt.tz_localize(None)
    week = (local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.date
    table = pd.crosstab(week, sel["source"]).reindex(columns=list(SOURCES), fill_value=0)
    if period is not None:
        first = period.since - timedelta(days=period.since.weekday())
        weeks = pd.date_range(first, period.until, freq="7D").date
    elif len(table):
        weeks = pd.date_range(min(table.index), max(table.index), freq="7D").date
    else:
        weeks = []
    table = table.reindex(weeks, fill_value=0)
    table.index.name = "week"
    table.columns.name = None
    return table.astype("int64")


def problem_list(events: pd.DataFrame, settings: Settings, *, as_of: pd.Timestamp | date | None = None,
                 hot_cells: pd.DataFrame | None = None, tier: str = "small", period: Period | None = None,
                 overdue_days: int | None = None, min_bin: int = HOT_BIN, text_chars: int = 60
                 ) -> pd.DataFrame:
    """The problem list: open 12345 work orders and hot cells, each with its 销号 status.

    Parameters
    ----------
    events : DataFrame
        Stored events (personal data already masked by ingestion).
    as_of : timestamp or date, optional
        When the list is drawn up (default: the end of the latest event's day).
    hot_cells : DataFrame, optional
        ``HotspotResult.cells`` of the period; cells with ``bin >= min_bin``
        become items, closed (销号) once every event of the period in them is
        closed as of ``as_of``.
    tier : str
        Tier of ``hot_cells`` (which ``h3_<tier>`` column to match).
    period : Period, optional
        Events counted for hot cells (default: all).

    Returns
    -------
    DataFrame
        ``kind`` (``hotline``/``hot_cell``), ``item`` (work-order id or hex
        cell), ``category``, ``since`` (received / first event), ``age_days``,
        ``open_events``, ``events``, ``overdue``, ``closed`` (销号), ``grid_id``,
        ``street_name``, ``phone_masked``, ``text`` (scrubbed, shortened),
        ``bin``.  Open items first, overdue and oldest on top.
    """
    overdue_days = settings.ingest.overdue_days if overdue_days is None else overdue_days
    if as_of is None:
        as_of = Period(latest_date(events, settings), latest_date(events, settings)).end_instant(
            settings.timezone)
    elif isinstance(as_of, date) and not isinstance(as_of, pd.Timestamp):
        as_of = Period(as_of, as_of).end_instant(settings.timezone)
    as_of = pd.Timestamp(as_of)
    parts = []

    hot = events[(events["source"] == "hotline").to_numpy() & (events["occurred_at"] < as_of).to_numpy()]
    open_mask = ~closed_by(hot, as_of)
    orders = hot[open_mask]
    age = (as_of - orders["occurred_at"]).dt.total_seconds().to_numpy() / 86400.0
    text = orders["text"].astype("string").fillna("")
    short = text.str.slice(0, text_chars).where(text.str.len() <= text_chars,
                                                text.str.slice(0, text_chars) + "…")
    grid_col = f"grid_{tier}" if f"grid_{tier}" in orders else "grid_small"
    parts.append(pd.DataFrame({
        "kind": "hotline", "item": orders["source_id"].astype("string").fillna(orders["event_id"]).to_numpy(),
        "category": orders["category"].to_numpy(), "since": orders["occurred_at"].to_numpy(),
        "age_days": age, "open_events": 1, "events": 1, "overdue": age > overdue_days, "closed": False,
        "grid_id": orders[grid_col].to_numpy(), "street_name": pd.NA,
        "phone_masked": orders["phone_masked"].to_numpy(), "text": short.to_numpy(), "bin": pd.NA,
    }))

    if hot_cells is not None and len(hot_cells):
        cells = hot_cells[hot_cells["bin"].to_numpy() >= min_bin]
        sel = events if period is None else events[in_period(events, settings, period)]
        sel = sel[(sel["occurred_at"] < as_of).to_numpy()]
        key = f"h3_{tier}"
        sel = sel[sel[key].isin(cells["cell"]).to_numpy()]
        still_open = ~closed_by(sel, as_of)
        g = pd.DataFrame({"cell": sel[key].to_numpy(), "open": still_open, "t": sel["occurred_at"].to_numpy()})
        agg = g.groupby("cell").agg(events=("open", "size"), open_events=("open", "sum"), first=("t", "min"))
        top = sel.groupby(key)["category"].agg(lambda s: s.value_counts().index[0])
        agg = agg.reindex(cells["cell"].to_numpy())
        first = agg["first"]
        age = (as_of - pd.to_datetime(first, utc=True)).dt.total_seconds().to_numpy() / 86400.0
        open_n = agg["open_events"].fillna(0).astype("int64").to_numpy()
        parts.append(pd.DataFrame({
            "kind": "hot_cell", "item": cells["h3"].to_numpy(),
            "category": top.reindex(cells["cell"].to_numpy()).to_numpy(), "since": first.to_numpy(),
            "age_days": age, "open_events": open_n, "events": agg["events"].fillna(0).astype("int64").to_numpy(),
            "overdue": (open_n > 0) & (age > overdue_days), "closed": open_n == 0,
            "grid_id": cells["grid_id"].to_numpy() if "grid_id" in cells else pd.NA,
            "street_name": cells["street_name"].to_numpy() if "street_name" in cells else pd.NA,
            "phone_masked": pd.NA, "text": pd.NA, "bin": cells["bin"].to_numpy(),
        }))
    parts = [p for p in parts if len(p)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PROBLEM_COLUMNS)
    table["since"] = pd.to_datetime(table["since"], utc=True)
    return table.sort_values(["closed", "overdue", "age_days"], ascending=[True, False, False],
                             kind="stable").reset_index(drop=True)


def cell_detail(events: pd.DataFrame, settings: Settings, tier: str, cell: int, *, latest: int = 10
                ) -> dict[str, pd.DataFrame]:
    """What a clicked cell holds: counts by category and by local hour, and its latest events.

    ``events`` should already be filtered (window, sources, dates).  The
    latest events carry only masked personal data.
    """
    sel = events[(events[f"h3_{tier}"] == int(cell)).to_numpy()]
    by_category = sel["category"].value_counts().rename_axis("category").rename("events").reset_index()
    hours = sel["occurred_at"].dt.tz_convert(settings.timezone).dt.hour
    by_hour = hours.value_counts().reindex(range(24), fill_value=0).rename_axis("hour").rename("events")
    cols = [c for c in ("occurred_at", "source", "category", "status", "is_closed", "address", "text",
                        "phone_masked", "plate_masked") if c in sel]
    last = sel.sort_values("occurred_at", ascending=False, kind="stable").head(latest)[cols].reset_index(drop=True)
    return {"by_category": by_category, "by_hour": by_hour.reset_index(), "latest": last}
