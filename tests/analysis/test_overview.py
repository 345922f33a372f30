"""Leader views (geo/analysis/overview.py) against hand-counted answers on small built tables."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.analysis import overview as ov
from geo.settings import Settings
from geo.store.schema import conform_events

TZ = "Asia/Shanghai"
S = Settings()


def events(rows: list[dict]) -> pd.DataFrame:
    """Events in the schema from a few fields; times are local (Beijing) strings."""
    base = {"source": "patrol", "category": "red_light", "lon": 116.37, "lat": 39.91, "crs_in": "WGS84",
            "location_method": "coordinates", "is_closed": False, "closed_at": None, "h3_big": 1, "h3_middle": 1,
            "h3_small": 1, "grid_big": "B1", "grid_middle": "B1-M1", "grid_small": "B1-M1-S1",
            "content_hash": "x", "ingest_id": "i", "source_file": "f", "source_row": 1}
    out = []
    for i, r in enumerate(rows):
        row = {**base, **r, "event_id": f"e{i}", "source_id": r.get("source_id", f"W{i}")}
        row["occurred_at"] = pd.Timestamp(r["at"], tz=TZ).tz_convert("UTC")
        if r.get("closed_at"):
            row["closed_at"] = pd.Timestamp(r["closed_at"], tz=TZ).tz_convert("UTC")
        row.pop("at")
        out.append(row)
    frame = pd.DataFrame(out)
    frame["closed_at"] = pd.to_datetime(frame["closed_at"], utc=True)
    return conform_events(frame)


def test_periods() -> None:
    p = ov.Period(date(2024, 3, 1), date(2024, 3, 30))
    assert p.days == 30
    assert p.previous() == ov.Period(date(2024, 1, 31), date(2024, 2, 29))  # leap February
    assert p.end_instant(TZ) == pd.Timestamp("2024-03-31 00:00", tz=TZ)
    ev = events([{"at": "2024-03-10 23:30"}, {"at": "2024-03-01 08:00"}])
    # latest event is 23:30 local on the 10th (15:30 UTC): the local date counts
    assert ov.period_for(ev, S, "7d") == ov.Period(date(2024, 3, 4), date(2024, 3, 10))
    with pytest.raises(ValueError, match="unknown period '1y'"):
        ov.period_for(ev, S, "1y")
    with pytest.raises(ValueError, match="ends .* before it starts"):
        ov.Period(date(2024, 3, 2), date(2024, 3, 1))


def test_closed_by_uses_close_out_times() -> None:
    ev = events([
        {"at": "2024-03-01 08:00", "is_closed": True, "closed_at": "2024-03-05 10:00"},
        {"at": "2024-03-01 08:00", "is_closed": True},                       # closed, time unknown
        {"at": "2024-03-01 08:00"},                                          # open
    ])
    at = pd.Timestamp("2024-03-04", tz=TZ)
    assert list(ov.closed_by(ev, at)) == [False, True, False]
    assert list(ov.closed_by(ev, pd.Timestamp("2024-03-06", tz=TZ))) == [True, True, False]


@pytest.fixture()
def hotline() -> pd.DataFrame:
    rows = [
        # this period (Mar 8-14): 4 orders, 2 closed by the 14th's end
        {"at": "2024-03-08 09:00", "source": "hotline", "is_closed": True, "closed_at": "2024-03-09 09:00"},
        {"at": "2024-03-10 09:00", "source": "hotline", "is_closed": True, "closed_at": "2024-03-12 09:00"},
        {"at": "2024-03-12 09:00", "source": "hotline", "is_closed": True, "closed_at": "2024-03-20 09:00"},
        {"at": "2024-03-14 22:00", "source": "hotline"},
        # previous period (Mar 1-7): 2 orders, 1 closed in time; the other is open and 7+ days old at the 14th
        {"at": "2024-03-01 09:00", "source": "hotline", "is_closed": True, "closed_at": "2024-03-02 09:00"},
        {"at": "2024-03-02 09:00", "source": "hotline", "phone_masked": "138****5678",
         "text": "路口电动三轮车逆行严重，请处理"},
        # other sources
        {"at": "2024-03-09 08:00", "source": "patrol"},
        {"at": "2024-03-09 08:00", "source": "violation"},
        {"at": "2024-03-03 08:00", "source": "violation"},
    ]
    return events(rows)


def test_hotline_status(hotline: pd.DataFrame) -> None:
    period = ov.Period(date(2024, 3, 8), date(2024, 3, 14))
    h = ov.hotline_status(hotline, S, period, overdue_days=7)
    assert h == {"received": 4, "closed": 2, "closure_rate": 0.5, "overdue": 1}
    prev = ov.hotline_status(hotline, S, period.previous(), overdue_days=7)
    # at the end of Mar 7 the Mar-2 order is 5.6 days old: open but not overdue yet
    assert prev == {"received": 2, "closed": 1, "closure_rate": 0.5, "overdue": 0}


def test_kpis(hotline: pd.DataFrame) -> None:
    period = ov.Period(date(2024, 3, 8), date(2024, 3, 14))
    k = ov.kpis(hotline, S, period, hot_cells=3, hot_cells_previous=2, overdue_days=7).set_index("kpi")
    assert k.loc["events", ["current", "previous"]].tolist() == [6, 3]
    assert k.loc["events", "change"] == pytest.approx(1.0)
    assert k.loc["events_hotline", ["current", "previous"]].tolist() == [4, 2]
    assert k.loc["events_violation", ["current", "previous"]].tolist() == [1, 1]
    assert k.loc["events_violation", "change"] == 0
    assert np.isnan(k.loc["events_snapshot", "change"])  # nothing before: no relative change
    assert k.loc["hotline_closure_rate", "change"] == 0  # a share changes in points
    assert k.loc["hotline_overdue", ["current", "previous"]].tolist() == [1, 0]
    assert k.loc["hot_cells", "change"] == pytest.approx(0.5)
    assert set(k["kind"]) == {"count", "share"}


def test_grid_ranking_per_km2_and_change() -> None:
    grids = gpd.GeoDataFrame({
        "grid_id": ["A", "B", "C"], "tier": "big", "name": ["甲", "乙", "丙"], "unit": "u", "street_name": "s",
        "area_km2": [2.0, 0.5, 1.0]}, geometry=[shapely.box(0, 0, 1, 1)] * 3, crs="EPSG:4326")
    rows = ([{"at": "2024-03-10 10:00", "grid_big": "A", "category": "red_light"}] * 4
            + [{"at": "2024-03-10 10:00", "grid_big": "B", "category": "wrong_way", "is_closed": True}] * 2
            + [{"at": "2024-03-02 10:00", "grid_big": "B"}] * 4
            + [{"at": "2024-03-02 10:00", "grid_big": "A"}] * 2)
    period = ov.Period(date(2024, 3, 8), date(2024, 3, 14))
    r = ov.grid_ranking(events(rows), grids, "big", S, period).set_index("grid_id")
    assert r.loc["B", "rank"] == 1 and r.loc["A", "rank"] == 2 and r.loc["C", "rank"] == 3
    assert r.loc["B", "per_km2"] == 4.0 and r.loc["A", "per_km2"] == 2.0 and r.loc["C", "events"] == 0
    assert r.loc["A", "change"] == pytest.approx(1.0) and r.loc["B", "change"] == pytest.approx(-0.5)
    assert np.isnan(r.loc["C", "change"])
    assert r.loc["A", "top_category"] == "red_light" and r.loc["B", "top_category"] == "wrong_way"
    assert r.loc["B", "closed_share"] == 1.0 and r.loc["A", "closed_share"] == 0.0
    with pytest.raises(ValueError, match="no 'small' tier"):
        ov.grid_ranking(events(rows), grids, "small", S, period)


def test_weekly_trend_weeks_start_on_local_monday() -> None:
    rows = [
        {"at": "2024-03-03 23:30", "source": "patrol"},    # Sunday night local (15:30 UTC): week of Feb 26
        {"at": "2024-03-04 00:30", "source": "patrol"},    # Monday 00:30 local (Sunday 16:30 UTC): week of Mar 4
        {"at": "2024-03-05 12:00", "source": "hotline"},
        {"at": "2024-03-20 12:00", "source": "violation"},  # week of Mar 18; week of Mar 11 empty
    ]
    t = ov.weekly_trend(events(rows), S)
    assert list(t.index) == [date(2024, 2, 26), date(2024, 3, 4), date(2024, 3, 11), date(2024, 3, 18)]
    assert t.loc[date(2024, 2, 26), "patrol"] == 1 and t.loc[date(2024, 3, 4), "patrol"] == 1
    assert t.loc[date(2024, 3, 4), "hotline"] == 1 and t.loc[date(2024, 3, 11)].sum() == 0
    assert list(t.columns) == ["patrol", "hotline", "violation", "snapshot", "grid_event"]
    within = ov.weekly_trend(events(rows), S, ov.Period(date(2024, 3, 4), date(2024, 3, 10)))
    assert list(within.index) == [date(2024, 3, 4)] and within.to_numpy().sum() == 2


def test_problem_list(hotline: pd.DataFrame) -> None:
    cells = pd.DataFrame({"h3": ["891", "892"], "cell": [1, 2], "bin": [3, 2], "grid_id": ["G1", "G2"],
                          "street_name": ["s1", "s2"]})
    ev = pd.concat([hotline, events([{"at": "2024-03-11 08:00", "h3_small": 2, "is_closed": True}])],
                   ignore_index=True)
    items = ov.problem_list(ev, S, as_of=date(2024, 3, 14), hot_cells=cells, tier="small", overdue_days=7)
    orders = items[items["kind"] == "hotline"]
    # open at the end of the 14th: the Mar-12 order (closed on the 20th), the Mar-14 one and the Mar-2 one
    assert len(orders) == 3
    top = orders.iloc[0]
    assert top["overdue"] and top["phone_masked"] == "138****5678" and top["age_days"] == pytest.approx(12.625)
    hot = items[items["kind"] == "hot_cell"].set_index("item")
    # cell 1 holds every fixture row: first event Mar 1 09:00, 13.625 days before the list; open, overdue
    assert hot.loc["891", "age_days"] == pytest.approx(13.625) and hot.loc["891", "overdue"]
    assert hot.loc["891", "closed"] == False and hot.loc["891", "open_events"] == 6  # noqa: E712
    assert items.iloc[0]["item"] == "891" and items.iloc[1]["item"] == top["item"]  # overdue, oldest first
    assert hot.loc["892", "closed"] == True and hot.loc["892", "events"] == 1  # noqa: E712  (销号)
    assert items["closed"].tolist() == sorted(items["closed"].tolist())  # closed items last
    short = ov.problem_list(ev, S, as_of=date(2024, 3, 14), text_chars=5)
    assert short.loc[short["phone_masked"] == "138****5678", "text"].iloc[0] == "路口电动三…"


def test_cell_detail_counts_in_local_hours() -> None:
    ev = events([{"at": "2024-03-10 07:30", "h3_small": 5, "category": "red_light"},
                 {"at": "2024-03-11 07:10", "h3_small": 5, "category": "red_light", "plate_masked": "京A·***12"},
                 {"at": "2024-03-11 18:00", "h3_small": 5, "category": "wrong_way"},
                 {"at": "2024-03-11 18:00", "h3_small": 6}])
    d = ov.cell_detail(ev, S, "small", 5, latest=2)
    assert d["by_category"].set_index("category")["events"].to_dict() == {"red_light": 2, "wrong_way": 1}
    hours = d["by_hour"].set_index("hour")["events"]
    assert len(hours) == 24 and hours[7] == 2 and hours[18] == 1 and hours.sum() == 3
    assert len(d["latest"]) == 2 and d["latest"]["plate_masked"].iloc[1] == "京A·***12"
    assert "phone_hash" not in d["latest"] and "plate_hash" not in d["latest"]


def test_trend_period_covers_whole_weeks() -> None:
    p = ov.Period(date(2024, 8, 2), date(2024, 8, 31))  # Friday to Saturday
    t = ov.trend_period(p)
    assert t.until == p.until and t.since.weekday() == 0 and t.since == date(2024, 6, 10)
    assert len(ov.weekly_trend(events([{"at": "2024-08-30 10:00"}]), S, t)) == 12
    long = ov.Period(date(2024, 1, 3), date(2024, 8, 31))
    assert ov.trend_period(long).since == date(2024, 1, 1)  # a longer period keeps its own start
