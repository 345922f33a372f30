"""The whole simulation: events of every source from one seed, with the truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import SettingsError
from geo.synthetic.sample.contract import DIRT_KINDS, FILES, SOURCE_CRS, random_streams
from geo.synthetic.sample.dirt import dirt_summary
from geo.synthetic.sample.events import (
    background_patrol,
    background_simple,
    concat,
    event_count,
    plant,
    take_rows,
)
from geo.synthetic.sample.gazetteer import gazetteer
from geo.synthetic.sample.geography import Geography, load_sample_geography, prepare
from geo.synthetic.sample.plan import (
    HOT_RADIUS_M,
    campaign_mask,
    plan_campaign_prepared,
    plan_hotspots_prepared,
)
from geo.synthetic.sample.tables import Table, hotline_table, patrol_table, snapshot_table, violation_table
from geo.synthetic.sample.timing import period
from geo.synthetic.sample.vocabulary import CATS


# --------------------------------------------------------------------------- #
# simulation
# --------------------------------------------------------------------------- #
@dataclass
class Simulation:
    """Everything generated for one sample, before writing.

    Attributes
    ----------
    tables : dict
        Per source (patrol, hotline, violation, snapshot): the row arrays, in
        file order.  Truth columns: ``t`` (local seconds since 1970), ``lon``/
        ``lat`` (WGS84 truth), ``cat`` (index into the category table, see
        ``categories``), ``hot`` (planted hotspot index or -1), ``dirt`` (0 or
        ``DIRT_KINDS`` index + 1).
    gazetteer : DataFrame
    truth : dict
        What ``truth.json`` holds.
    categories : tuple of str
        Category code of each ``cat`` index.
    """

    tables: dict[str, Table]
    gazetteer: pd.DataFrame
    truth: dict[str, Any]
    categories: tuple[str, ...] = CATS

    def events(self, source: str) -> pd.DataFrame:
        """Truth of each row of ``source`` as a DataFrame (time, WGS84 point, category code, hotspot, dirt)."""
        t = self.tables[source]
        a = t.a
        return pd.DataFrame({
            "time": a["t"].astype("datetime64[s]"), "lon": a["lon"], "lat": a["lat"],
            "category": np.array(CATS, dtype=object)[a["cat"]], "hotspot": a["hot"],
            "dirt": np.array(("",) + DIRT_KINDS, dtype=object)[a["dirt"]],
        })


def check_args(seed: int, months: int, scale: float, start: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SettingsError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or not 1 <= months <= 120:
        raise SettingsError(f"months must be an integer 1–120, got {months!r}")
    if not isinstance(scale, (int, float, np.floating)) or not (0 < float(scale) <= 1000):
        raise SettingsError(f"scale must be a number in (0, 1000], got {scale!r}")
    period(start, int(months))  # a bad start date fails here, before any work


def simulate(geography: Geography | None = None, *, seed: int = 1, months: int = 6, scale: float = 1.0,
             start: str = "2024-03-01") -> Simulation:
    """Generate all events, dirt and truth without writing files.

    Parameters are those of :func:`write_sample`.  Holds every table in memory;
    :func:`write_sample` streams them one source at a time instead.
    """
    tables: dict[str, Table] = {}
    gaz = pd.DataFrame()
    truth: dict[str, Any] = {}
    for name, obj in generate(geography, seed=seed, months=months, scale=scale, start=start):
        if name == "gazetteer":
            gaz = obj
        elif name == "truth":
            truth = obj
        else:
            tables[name] = obj
    return Simulation(tables=tables, gazetteer=gaz, truth=truth)


def generate(geography: Geography | None, *, seed: int, months: int, scale: float, start: str
              ) -> Iterator[tuple[str, Any]]:
    """Yield ("gazetteer", DataFrame), then (source, Table) per source, then ("truth", dict)."""
    check_args(seed, months, scale, start)
    geo = geography if geography is not None else load_sample_geography()
    p = prepare(geo)
    per = period(start, months)
    streams = random_streams(seed)
    hotspots = plan_hotspots_prepared(p, per, streams["plan"])
    camp = plan_campaign_prepared(p, per, hotspots, streams["campaign"])
    gaz = gazetteer(p, streams["gaz"])
    truth: dict[str, Any] = {
        "schema_version": 1,
        "generator": "geo.synthetic.sample",
        "seed": int(seed), "months": int(months), "scale": float(scale),
        "start": per.date(0), "end": str(per.end), "end_exclusive": True,
        "area": {"name": geo.district_name, "code": geo.district_code, "area_km2": round(p.area_km2, 3)},
        "crs": {FILES[s]: SOURCE_CRS[s] for s in SOURCE_CRS} | {FILES["addresses"]: "WGS84"},
        "categories": list(CATS),
        "background_events": {},
        "hotspots": [],
        "hotspot_notes": "multiplier = (background + planted) / background, where background counts the source's "
                         "events of all categories in the hotspot's window days, planted hours and dates within "
                         "radius_m of the centre (intersections: 200 m, half the planted events in the crossing, "
                         f"half on its approaches; others: a {HOT_RADIUS_M:.0f} m disc along the roads). "
                         "Emerging/fading hotspots change linearly from multiplier_start to multiplier_end over "
                         "[start, end). cells: res-9 H3 cells holding >= 5 % of the planted events, most first.",
        "campaign": {},
        "rows": {FILES["addresses"]: len(gaz)}, "dirt": {FILES["addresses"]: {}}, "time_formats": {},
        "addresses": {}, "pii": {},
    }
    yield "gazetteer", gaz
    camp_t = per.t0 + camp["_day"] * 86400
    cut_day = camp["_day"]
    campaign_counts: dict[str, dict[str, int]] = {}
    for source in ("patrol", "hotline", "violation", "snapshot"):
        rng = streams[source]
        n = event_count(source, per, float(scale))
        bg = background_patrol(p, per, rng, n) if source == "patrol" else \
            background_simple(p, per, rng, n, source)
        # campaign: 40 % of later background events inside the campaign grids never happen
        inside = campaign_mask(p, camp, bg["x"], bg["y"])
        drop = inside & (bg["t"] >= camp_t) & (rng.random(len(bg["t"])) < -camp["effect"])
        bg = take_rows(bg, np.flatnonzero(~drop))
        truth["background_events"][source] = len(bg["t"])
        parts = [bg]
        for hi, h in enumerate(hotspots):
            if source in h["sources"]:
                parts.append(plant(p, per, streams["plant"], h, hi, bg))
        ev = concat(parts)
        del bg, parts
        ev = take_rows(ev, np.argsort(ev["t"], kind="stable"))
        if source == "patrol":
            tab = patrol_table(p, per, rng, ev)
        elif source == "hotline":
            tab = hotline_table(p, per, rng, ev, gaz)
        elif source == "violation":
            tab = violation_table(p, per, rng, ev, gaz)
        else:
            tab = snapshot_table(p, per, rng, ev)
        del ev
        a = tab.a
        a["lon"], a["lat"] = p.loc.inv(a["x"], a["y"])
        clean = a["dirt"] == 0
        inside = campaign_mask(p, camp, a["x"], a["y"]) & clean
        day = (a["t"] - per.t0) // 86400
        campaign_counts[source] = {
            "campaign_before": int((inside & (day < cut_day)).sum()),
            "campaign_after": int((inside & (day >= cut_day)).sum()),
            "rest_before": int((~inside & clean & (day < cut_day)).sum()),
            "rest_after": int((~inside & clean & (day >= cut_day)).sum()),
        }
        fname = FILES[source]
        truth["dirt"][fname] = dirt_summary(a)
        truth["rows"][fname] = len(tab)
        if source == "violation":
            txt = a["txt_time"]
            truth["time_formats"][fname] = {"text_cells": int(txt.sum()), "date_cells": int((~txt).sum()),
                                            "note": "dirty times (see dirt) are text cells too"}
            truth["pii"][fname] = {"plates": int((a["plate"] != "").sum())}
        else:
            f = a["tfmt"]
            truth["time_formats"][fname] = {"iso": int((f == 0).sum()), "slash": int((f == 1).sum()),
                                            "chinese": int((f == 2).sum())}
        if source == "hotline":
            truth["addresses"] = tab.extra["addresses"]
            truth["pii"][fname] = tab.extra["pii"]
        yield source, tab
        del tab, a
    camp_out = {k: v for k, v in camp.items() if not k.startswith("_")}
    camp_out["days_before"] = int(cut_day)
    camp_out["days_after"] = int(per.n_days - cut_day)
    camp_out["counts"] = campaign_counts
    truth["campaign"] = camp_out
    truth["hotspots"] = [{k: v for k, v in h.items() if not k.startswith("_")} for h in hotspots]
    yield "truth", truth
