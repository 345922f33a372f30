"""Shared fixtures: small workspaces and schema-conformant synthetic events built in code."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from geo.grid import h3cells
from geo.settings import TIERS, Settings
from geo.store.schema import conform_events

# The cheap argon2 profile (GRIDWATCH_ARGON2_PROFILE=test) is honoured only in test processes: this one and the
# servers it starts (they inherit the environment).
os.environ["GRIDWATCH_TEST_PROCESS"] = "1"


def make_events(lon, lat, times, *, category="illegal_parking", source="violation",
                settings: Settings | None = None, grids=None) -> pd.DataFrame:
    """Events in the stored schema from plain arrays (times: tz-aware or local Asia/Shanghai strings)."""
    settings = settings or Settings()
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    n = len(lon)
    t = pd.to_datetime(pd.Series(times))
    if t.dt.tz is None:
        t = t.dt.tz_localize(settings.timezone)
    t = t.dt.tz_convert("UTC")
    cat = pd.Series(category if not np.isscalar(category) else [category] * n, dtype="string")
    src = pd.Series(source if not np.isscalar(source) else [source] * n, dtype="string")
    frame = pd.DataFrame({
        "event_id": [f"t:{i}" for i in range(n)], "source": src, "category": cat, "category_raw": cat,
        "occurred_at": t.to_numpy(), "lon": lon, "lat": lat, "crs_in": "WGS84",
        "location_method": "coordinates", "is_closed": False, "content_hash": "x", "ingest_id": "test",
        "source_file": "test.csv", "source_row": np.arange(2, n + 2),
        **{f"h3_{tier}": h3cells.cells_for_points(lon, lat, settings.tiers.resolution(tier)) for tier in TIERS},
    })
    if grids is not None:
        from geo.grid.officialgrids import locate_points
        frame = pd.concat([frame, locate_points(grids, lon, lat)], axis=1)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return conform_events(frame)


@pytest.fixture
def box_workspace(tmp_path):
    """A workspace over a 4 km × 3.3 km box in central Beijing (no grids)."""
    from geo.store.workspace import init_workspace
    return init_workspace(tmp_path / "ws", bbox=(116.36, 39.89, 116.405, 39.92))


def copy_sample_geography(root):
    """A new workspace folder with the sample's settings, area, official grids and roads (no data)."""
    import shutil

    from geo.store.workspace import SAMPLE_WORKSPACE
    root.mkdir(parents=True, exist_ok=True)
    for name in ("gridwatch.toml", "area_xicheng.geojson", "official_grids.geojson", "roads.geojson",
                 "intersections.geojson"):
        shutil.copy(SAMPLE_WORKSPACE / name, root / name)
    return root


def simulated_sample(root, *, seed, months, scale):
    """A small simulated sample written to ``root/raw`` and ingested: ``(workspace, reports)``."""
    from geo.synthetic.sample import write_sample
    from geo.synthetic.workspace import ensure_sample_workspace

    copy_sample_geography(root)
    write_sample(root / "raw", seed=seed, months=months, scale=scale)
    return ensure_sample_workspace(root)


@pytest.fixture
def xicheng_ws(tmp_path):
    """A fresh workspace with the sample's area, official grids and roads (empty store)."""
    from geo.store.workspace import load_workspace
    return load_workspace(copy_sample_geography(tmp_path / "xicheng"))
