"""Grid profiles and the monthly ranking (月度排名) of official grids.

A profile is one row per unit (H3 cell or official grid) with its events by
source, by category and by named time window, events per km², its share of
the district's events and its rank.  All aggregation is a group-by on the
int64 cell ids or the grid ids; zero rows are kept (every cell of the filled
study area, every official grid).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.analysis.filters import window_mask
from geo.settings import SOURCES, Settings


def _breakdown(events: pd.DataFrame, key: str, settings: Settings) -> pd.DataFrame:
    parts = [events.groupby(key).size().rename("events")]
    by_source = pd.crosstab(events[key], events["source"]).reindex(columns=list(SOURCES), fill_value=0)
    parts.append(by_source.add_prefix("source_"))
    by_cat = pd.crosstab(events[key], events["category"])
    parts.append(by_cat.add_prefix("category_"))
    for w in settings.windows:
        if w.name == "all":
            continue
        inside = window_mask(events["occurred_at"], w, settings.timezone)
        parts.append(events.loc[inside].groupby(key).size().rename(f"window_{w.name}"))
    top = by_cat.idxmax(axis=1).where(by_cat.sum(axis=1) > 0).rename("top_category")
    parts.append(top)
    return pd.concat(parts, axis=1)


def _finish(table: pd.DataFrame, area_km2: pd.Series) -> pd.DataFrame:
    counts = [c for c in table.columns if c != "top_category"]
    table[counts] = table[counts].fillna(0).astype("int64")
    table["area_km2"] = area_km2.reindex(table.index).to_numpy()
    table["per_km2"] = table["events"] / table["area_km2"]
    total = table["events"].sum()
    table["share"] = table["events"] / total if total else 0.0
    table["rank"] = table["events"].rank(method="min", ascending=False).astype("int64")
    return table.sort_values("rank", kind="stable")


def cell_profile(events: pd.DataFrame, area_cells: pd.DataFrame, tier: str, settings: Settings,
                 crosswalk_cells: pd.DataFrame | None = None) -> pd.DataFrame:
    """Profile of every study-area cell of a tier (zeros included).

    Parameters
    ----------
    events : DataFrame in the event schema (already filtered).
    area_cells : DataFrame from :func:`geo.grid.tiers.study_area_cells`.
    crosswalk_cells : optional ``Crosswalk.cells`` to add the responsible grid.
    """
    key = f"h3_{tier}"
    table = _breakdown(events, key, settings).reindex(area_cells["cell"].to_numpy())
    table.index.name = "cell"
    # density per km² of the cell's part inside the study area
    table = _finish(table, area_cells.set_index("cell")["inside_km2"])
    if crosswalk_cells is not None:
        resp = crosswalk_cells.set_index("cell")[["grid_id", "name", "unit", "street_name"]]
        table = table.join(resp.add_prefix("responsible_"))
    return table.reset_index()


def official_grid_profile(events: pd.DataFrame, grids: gpd.GeoDataFrame, tier: str,
                          settings: Settings) -> pd.DataFrame:
    """Profile of every official grid of a tier, counted from the events' own grid ids."""
    layer = grids[grids["tier"] == tier].set_index("grid_id")
    table = _breakdown(events.dropna(subset=[f"grid_{tier}"]), f"grid_{tier}", settings)
    table = table.reindex(layer.index)
    table.index.name = "grid_id"
    table = _finish(table, layer["area_km2"])
    table = table.join(layer[["name", "unit", "street_name"]])
    return table.reset_index()


def monthly_ranking(events: pd.DataFrame, grids: gpd.GeoDataFrame, tier: str, settings: Settings,
                    month: str | None = None) -> pd.DataFrame:
    """The monthly ranking of official grids (月度排名).

    Parameters
    ----------
    month : str, optional
        ``YYYY-MM``; default the latest month with events.

    Returns
    -------
    DataFrame
        ``rank``, ``grid_id``, ``name``, ``unit``, ``street_name``,
        ``events``, ``per_km2``, ``previous`` (events the month before),
        ``change`` (relative), ``top_category``, ``closed_share`` (share of
        the month's events already closed).
    """
    local = events["occurred_at"].dt.tz_convert(settings.timezone)
    months = local.dt.strftime("%Y-%m")
    if month is None:
        month = months.max() if len(months) else pd.Timestamp.now(tz=settings.timezone).strftime("%Y-%m")
    prev = (pd.Period(month, "M") - 1).strftime("%Y-%m")
    this = events[(months == month).to_numpy()]
    before = events[(months == prev).to_numpy()]
    layer = grids[grids["tier"] == tier].set_index("grid_id")
    col = f"grid_{tier}"
    current = this.groupby(col).size().reindex(layer.index, fill_value=0)
    previous = before.groupby(col).size().reindex(layer.index, fill_value=0)
    by_cat = pd.crosstab(this[col], this["category"]).reindex(layer.index, fill_value=0)
    top = by_cat.idxmax(axis=1).where(by_cat.sum(axis=1) > 0) if by_cat.shape[1] else \
        pd.Series(pd.NA, index=layer.index)
    closed = this.groupby(col)["is_closed"].mean().reindex(layer.index)
    table = pd.DataFrame({
        "grid_id": layer.index, "name": layer["name"], "unit": layer["unit"],
        "street_name": layer["street_name"], "month": month,
        "events": current.to_numpy(), "per_km2": current.to_numpy() / layer["area_km2"].to_numpy(),
        "previous": previous.to_numpy(),
        "change": np.where(previous.to_numpy() > 0,
                           (current.to_numpy() - previous.to_numpy()) / np.maximum(previous.to_numpy(), 1),
                           np.nan),
        "top_category": top.to_numpy(), "closed_share": closed.to_numpy(),
    })
    table = table.reset_index(drop=True)
    table["rank"] = table["per_km2"].rank(method="min", ascending=False).astype("int64")
    return table.sort_values(["rank", "grid_id"]).reset_index(drop=True)[
        ["rank", *[c for c in table.columns if c != "rank"]]]
