"""Cached library calls of the app.

Every heavy call goes through a Streamlit cache keyed by what it depends on:
the workspace folder and the events' version (:func:`data_version`: an ingest
invalidates everything at once, a login's audit row nothing), the :class:`~geo.analysis.filters.EventFilter` (a
frozen dataclass, hashable) and the analysis parameters.  A map click, a
pan or a language switch hits the caches and recomputes nothing.

``st.cache_resource`` (no copy on read) is used for frames and results: the
pages treat them as read-only (they copy before changing anything), which
keeps a 1e5-event frame from being copied on every rerun.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from geo.analysis.filters import EventFilter
from geo.app import background
from geo.store.workspace import SAMPLE_WORKSPACE, Workspace, load_workspace, resolve_workspace_dir

Stamp = tuple[str, int, int]


def file_stamp(path: Path | None) -> Stamp:
    """``(path, mtime_ns, size)``; zeros when the file does not exist."""
    if path is None:
        return ("", 0, 0)
    try:
        st_ = Path(path).stat()
    except OSError:
        return (str(path), 0, 0)
    return (str(path), st_.st_mtime_ns, st_.st_size)


def store_stamp(ws: Workspace) -> tuple[Stamp, Stamp]:
    """Stamp of the store and its write-ahead log: changes whenever events are written."""
    store = ws.store_path
    return file_stamp(store), file_stamp(store.with_name(store.name + ".wal"))


@st.cache_resource(show_spinner=False, max_entries=4)
def _workspace(root: str, stamp: Stamp) -> Workspace:
    return load_workspace(root)


def workspace() -> Workspace:
    """The app's workspace: ``GRIDWATCH_WORKSPACE`` or the shipped sample."""
    root = resolve_workspace_dir(None)
    return _workspace(str(root), file_stamp(root / "gridwatch.toml"))


def is_sample(ws: Workspace) -> bool:
    return ws.root.resolve() == SAMPLE_WORKSPACE.resolve()


def prepare_sample(progress: Callable[[str, float], None] | None = None) -> list[Any]:
    """Generate and ingest the sample when its store is empty (first start of a fresh clone)."""
    from geo.synthetic.workspace import ensure_sample_workspace

    _, reports = ensure_sample_workspace(progress=progress)
    return reports


def store_is_empty(ws: Workspace) -> bool:
    """Whether the store holds no event (asked once per write to the store)."""
    return data_version(ws)[0] == 0


@st.cache_resource(show_spinner=False, max_entries=8)
def _events_version(store: str, stamp: tuple[Stamp, Stamp]) -> tuple[int, int]:
    from geo.store.database import events_version

    return events_version(store)


def data_version(ws: Workspace) -> tuple[int, int]:
    """Version of the stored events (:func:`geo.store.database.events_version`: count and checksum).

    Asked again only when the store file changes; the caches below are keyed on it, not on the
    file, because every login, logout and download appends an audit row to the same file and
    would otherwise throw every analysis away.
    """
    return _events_version(str(ws.store_path), store_stamp(ws))


@st.cache_resource(show_spinner=False, max_entries=2)
def _events(store: str, version: tuple[int, int]) -> pd.DataFrame:
    from geo.store.database import read_events

    return read_events(store)


def events(ws: Workspace) -> pd.DataFrame:
    """All stored events (read once per store version; treat as read-only)."""
    return _events(str(ws.store_path), data_version(ws))


def key(ws: Workspace) -> tuple[str, tuple[int, int]]:
    """Cache key of a workspace's data: its folder and the events' version."""
    return str(ws.root), data_version(ws)


# --- reference layers -----------------------------------------------------------------------

def reference_key(ws: Workspace) -> tuple[Any, ...]:
    """Cache key of the workspace's reference data: its settings, area, grid and road files' stamps."""
    stamps = tuple(file_stamp(ws.paths.get(k)) for k in ("area", "grids", "roads"))
    return str(ws.root), file_stamp(ws.root / "gridwatch.toml"), stamps


@st.cache_resource(show_spinner=False, max_entries=4)
def _roads(path: str, stamp: Stamp) -> gpd.GeoDataFrame | None:
    from geo.grid.roads import read_roads

    return read_roads(path)


def roads(ws: Workspace) -> gpd.GeoDataFrame | None:
    path = ws.paths.get("roads")
    if path is None or not Path(path).exists():
        return None
    return _roads(str(path), file_stamp(path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _basemap(root: str, roads_stamp: Stamp, grids_stamp: Stamp, crs: str, _ws: Workspace) -> dict[str, Any]:
    from geo.maps.basemap import basemap_data

    return basemap_data(roads(_ws), _ws.grids, crs)


def basemap(ws: Workspace, crs: str = "WGS84") -> dict[str, Any]:
    """The offline base map's roads and names (:func:`geo.maps.basemap.basemap_data`), cached per file."""
    grids_path = ws.paths.get("grids")
    return _basemap(str(ws.root), file_stamp(ws.paths.get("roads")),
                    file_stamp(Path(grids_path) if grids_path else None), crs, ws)


@st.cache_resource(show_spinner=False, max_entries=16)
def _catchments(roads_stamp: Stamp, lon: tuple[float, ...], lat: tuple[float, ...], radius_m: float,
                metric_crs: str, _ws: Workspace) -> gpd.GeoDataFrame:
    from geo.maps.basemap import road_catchments

    return road_catchments(roads(_ws), np.asarray(lon), np.asarray(lat), radius_m, metric_crs)


def catchments(ws: Workspace, lon: Any, lat: Any, radius_m: float) -> gpd.GeoDataFrame:
    """What each post reaches along the roads (:func:`geo.maps.basemap.road_catchments`), cached."""
    return _catchments(file_stamp(ws.paths.get("roads")), tuple(float(x) for x in lon),
                       tuple(float(y) for y in lat), float(radius_m), ws.settings.metric_crs, ws)


# --- analyses ------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=48)
def _hotspots(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, tier: str,
              inference: str | None) -> Any:
    from geo.analysis.hotcells import hotspot_cells

    return hotspot_cells(_ws, _events, flt, tier=tier, inference=inference)


def hotspots(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str, inference: str | None = None) -> Any:
    """:func:`geo.analysis.hotcells.hotspot_cells` (cached)."""
    return _hotspots(ws, ev, key(ws), flt, tier, inference)


@st.cache_resource(show_spinner=False, max_entries=24)
def _demand(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, tier: str) -> gpd.GeoDataFrame:
    from geo.analysis.hotcells import demand_cells

    return demand_cells(_ws, _events, flt, tier=tier)


def demand(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str = "small") -> gpd.GeoDataFrame:
    """:func:`geo.analysis.hotcells.demand_cells` (cached): events per cell, no Gi* (the planner's layer)."""
    return _demand(ws, ev, key(ws), flt, tier)


@st.cache_resource(show_spinner=False, max_entries=24)
def _zones(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, tier: str) -> gpd.GeoDataFrame:
    from geo.analysis.hotcells import hotspot_zones

    hs = _hotspots(_ws, _events, data_key, flt, tier, None)
    return hotspot_zones(_ws, _events, flt, hotspots=hs)


def zones(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str) -> gpd.GeoDataFrame:
    """:func:`geo.analysis.hotcells.hotspot_zones` with the tier's Gi* bins (cached)."""
    return _zones(ws, ev, key(ws), flt, tier)


CURVE_GROWTH = 4
"""How much longer the coverage curve gets each time it stops short of 80 % (``max(2p, 40)`` first)."""


@st.cache_resource(show_spinner=False, max_entries=24)
def _plan(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, p: int, radius_m: float,
          network: bool, existing: tuple[str, bytes] | None) -> Any:
    import warnings

    from geo.planning.posts import plan_posts

    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plan's summary carries the warnings the user must see
        path = None
        if existing is not None:
            path = Path(tmp) / _safe_name(existing[0])
            path.write_bytes(existing[1])
        # the curve goes on until 80 % is reached (or every candidate is a post: then the page says why):
        # max(2p, 40) posts first, CURVE_GROWTH times longer while 80 % is not reached.  The greedy curve
        # of a longer run starts with the shorter one, so one solve with the second length serves both
        # cases, cut back to the first length when that was enough.
        first = max(2 * p, 40)
        length = CURVE_GROWTH * first
        plan = plan_posts(_ws, _events, flt, p=p, radius_m=radius_m, existing=path, network=network,
                          curve_max=length)
        candidates = int(plan.summary["candidates"])
        if _reaches(plan.curve, min(first, candidates)):
            return _cut_curve(plan, min(first, candidates))
        while plan.summary["posts_for_80pct"] is None and int(plan.curve["p"].max()) < candidates:
            length = min(candidates, CURVE_GROWTH * int(plan.curve["p"].max()))
            plan = plan_posts(_ws, _events, flt, p=p, radius_m=radius_m, existing=path, network=network,
                              curve_max=length)
        return plan


def _reaches(curve: pd.DataFrame, length: int, share: float = 0.8) -> bool:
    return bool((curve.loc[curve["p"] <= length, "share"] >= share - 1e-12).any())


def _cut_curve(plan: Any, length: int) -> Any:
    """The plan with its coverage curve ending at ``length`` posts (what a solve with that length gives)."""
    from geo.planning.posts import PostPlan
    from geo.planning.solvers import posts_for_share

    curve = plan.curve[plan.curve["p"] <= length].reset_index(drop=True)
    summary = {**plan.summary, "posts_for_80pct": int(posts_for_share(curve, 0.8))
               if curve["share"].max() >= 0.8 - 1e-12 else None}
    return PostPlan(posts=plan.posts, curve=curve, summary=summary)


def plan(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, *, p: int, radius_m: float, network: bool,
         existing: tuple[str, bytes] | None = None) -> Any:
    """:func:`geo.planning.posts.plan_posts` (cached by all its inputs, existing posts by content)."""
    return _plan(ws, ev, key(ws), flt, int(p), float(radius_m), bool(network), existing)


def _safe_name(name: str) -> str:
    stem = Path(name).name
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in stem)
    return cleaned or "upload"


# --- overview ---------------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, max_entries=24)
def _overview(_ws: Workspace, _events: pd.DataFrame, data_key: Any, since: Any, until: Any, tier: str
              ) -> dict[str, Any]:
    from geo.analysis import overview as ov

    settings = _ws.settings
    period = ov.Period(since, until)
    prev = period.previous()
    hs = _hotspots(_ws, _events, data_key, EventFilter(since=period.since, until=period.until), tier, None)
    hs_prev = _hotspots(_ws, _events, data_key, EventFilter(since=prev.since, until=prev.until), tier, None)
    hot = int((hs.cells["bin"] >= ov.HOT_BIN).sum())
    hot_prev = int((hs_prev.cells["bin"] >= ov.HOT_BIN).sum())
    out: dict[str, Any] = {
        "period": period,
        "kpis": ov.kpis(_events, settings, period, hot_cells=hot, hot_cells_previous=hot_prev),
        "trend": ov.weekly_trend(_events, settings, ov.trend_period(period)),
        "problems": ov.problem_list(_events, settings, as_of=period.end_instant(settings.timezone),
                                    hot_cells=hs.cells, tier=tier, period=period),
        "ranking": None,
    }
    out["ranking"] = _ranking(_ws, _events, data_key, since, until, tier)
    return out


def overview(ws: Workspace, ev: pd.DataFrame, since: Any, until: Any, tier: str) -> dict[str, Any]:
    """KPIs, ranking, weekly trend and problem list of a period (cached)."""
    return _overview(ws, ev, key(ws), since, until, tier)


@st.cache_resource(show_spinner=False, max_entries=24)
def _ranking(_ws: Workspace, _events: pd.DataFrame, data_key: Any, since: Any, until: Any, tier: str
             ) -> pd.DataFrame | None:
    from geo.analysis import overview as ov

    if _ws.grids is None:
        return None
    return ov.grid_ranking(_events, _ws.grids, tier, _ws.settings, ov.Period(since, until))


def ranking(ws: Workspace, ev: pd.DataFrame, since: Any, until: Any, tier: str) -> pd.DataFrame | None:
    """The official grids' ranking of a period (:func:`geo.analysis.overview.grid_ranking`; ``None`` without
    grids), cached: all the overview's map needs, so the map is drawn before the rest is computed."""
    return _ranking(ws, ev, key(ws), since, until, tier)


# --- intake -------------------------------------------------------------------------------------------

UPLOAD_DIR = "uploads"
"""Folder of the workspace that keeps the app's checked uploads (``<sha256[:12]>/<safe name>``)."""


def check_upload(ws: Workspace, name: str, content: bytes, *, types: tuple[str, ...] | None = None) -> str:
    """:func:`geo.access.uploads.check_upload` with the workspace's limits; ``types`` overrides the accepted suffixes."""
    from geo.access.uploads import check_upload as check

    access = ws.settings.access
    if types is not None:
        access = access.model_copy(update={"upload_types": types})
    return check(name, content, access)


def store_upload(ws: Workspace, safe_name: str, content: bytes) -> Path:
    """Write a checked upload inside the workspace (never outside it) and return its path.

    ``safe_name`` comes from :func:`check_upload`; the folder is the content's
    hash, so the same file uploaded twice is written once and two files with
    one name do not overwrite each other.
    """
    from geo.access.uploads import contained_path, safe_filename
    from geo.store.files import private_dir, private_umask, prune_files

    digest = upload_digest(content)
    # uploads kept after their ingest, and uploads never ingested (after a day at least), expire
    prune_files(ws.root / UPLOAD_DIR, max(ws.settings.access.keep_uploads_days, 1.0))
    target = contained_path(ws.root, Path(UPLOAD_DIR) / digest / safe_filename(safe_name))
    private_dir(ws.root / UPLOAD_DIR)
    private_dir(target.parent)
    if not target.exists():
        tmp = target.with_name(f".{target.name}.part")
        with private_umask():  # 0600: the raw file holds caller numbers
            tmp.write_bytes(content)
        tmp.replace(target)
    return target


def upload_digest(content: bytes) -> str:
    """The name of an upload's folder: the first 12 hex characters of its SHA-256."""
    return hashlib.sha256(content).hexdigest()[:12]


def discard_upload(ws: Workspace, path: str | Path) -> bool:
    """Remove an ingested upload (and its folder if empty) unless ``access.keep_uploads_days`` keeps it.

    Returns whether it was removed.  Kept uploads are removed by the next
    :func:`store_upload` once they are older than the setting.
    """
    if ws.settings.access.keep_uploads_days > 0:
        return False
    path = Path(path)
    base = (ws.root / UPLOAD_DIR).resolve()
    if base not in path.resolve().parents:  # only ever inside uploads/
        return False
    path.unlink(missing_ok=True)
    if path.parent.resolve() != base and not any(path.parent.iterdir()):
        path.parent.rmdir()
    return True


@st.cache_data(show_spinner=False, max_entries=8)
def preview(path: str, source: str, stamp: Stamp, mapping_file: str | None = None,
            mapping_stamp: Stamp | None = None, crs: str | None = None) -> dict[str, Any]:
    """The first rows of an upload, the mapping the ingest will use and what it would produce.

    A dry run (:func:`geo.ingest.pipeline.ingest_file` with ``dry_run=True``):
    field → source column(s) with how each was chosen, the counts it would
    store / deduplicate / quarantine and a few parsed rows; nothing is
    written.  When no column choice is safe, ``error`` holds the message and
    ``mapping_toml`` the ready-to-edit mapping file.
    """
    from geo.ingest.columns import REQUIRED, load_mapping, map_columns
    from geo.ingest.layout import SHEET_COLUMN, apply_layout, read_workbook
    from geo.ingest.mapping import MappingError
    from geo.ingest.pipeline import ingest_file
    from geo.privacy import mask_frame

    mapping = load_mapping(mapping_file) if mapping_file else None
    raw = apply_layout(read_workbook(path, encoding=mapping.encoding if mapping else None,
                                     sheet=mapping.sheet if mapping else None,
                                     delimiter=mapping.delimiter if mapping else None))
    headers = [c for c in raw.frame.columns if c not in ("_row", SHEET_COLUMN)]  # _geom_lon/_geom_lat count as coordinates
    # the preview shows no caller number, ID number or plate: the personal columns masked, the rest scrubbed
    named = map_columns(headers, source, mapping, file=Path(path).name, require=False)
    personal = {named.fields[f]: f for f in ("phone", "id_number", "plate") if named.fields.get(f)}
    out: dict[str, Any] = {
        "rows": int(raw.n_rows), "head": mask_frame(raw.frame[raw.columns].head(20).astype("string"), personal),
        "headers": [h for h in headers if h not in ("_geom_lon", "_geom_lat")],
        "encoding": raw.encoding, "declared_crs": raw.declared_crs, "error": None, "mapping_toml": None,
        "mapping": {}, "dry_run": None, "warnings": [],
    }
    try:
        report = ingest_file(path, source, workspace(), crs=crs, mapping_file=mapping_file, dry_run=True)
    except MappingError as exc:
        out["error"], out["mapping_toml"] = str(exc), exc.mapping_toml
        cmap = map_columns(headers, source, mapping, file=Path(path).name, require=False)
        out["fields"], out["unmapped"] = dict(cmap.fields), list(cmap.unmapped)
        out["missing"] = [f for f in REQUIRED if f not in cmap.fields]
        return out
    out["mapping"] = report.mapping
    fields = {f: " + ".join(v["columns"]) for f, v in report.mapping.items() if f != "location"}
    out["fields"] = fields
    used = {c for v in report.mapping.values() for c in v["columns"]}
    out["unmapped"] = [h for h in out["headers"] if h not in used]
    out["missing"] = []
    out["warnings"] = list(report.warnings)
    out["dry_run"] = {k: report.to_dict()[k] for k in ("read", "stored", "duplicates", "quarantined", "by_reason")}
    out["preview"] = pd.DataFrame(report.preview)
    return out


def mapping_with_choices(ws: Workspace, mapping_file: str | None, columns: dict[str, str]) -> Path | None:
    """A mapping file (kept in the workspace's uploads) = ``mapping_file`` with the intake page's column choices."""
    from geo.ingest.mapping import mapping_with_columns

    if not columns:
        return Path(mapping_file) if mapping_file else None
    base = Path(mapping_file).read_text(encoding="utf-8-sig") if mapping_file else None
    text = mapping_with_columns(base, columns)
    return store_upload(ws, "intake_mapping.toml", text.encode("utf-8"))


@st.cache_resource(show_spinner=False, max_entries=16)
def _filtered(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter) -> pd.DataFrame:
    from geo.analysis.filters import apply_filter

    return apply_filter(_events, flt, _ws.settings)


def filtered(ws: Workspace, ev: pd.DataFrame, flt: EventFilter) -> pd.DataFrame:
    """:func:`geo.analysis.filters.apply_filter` (cached; read-only)."""
    return _filtered(ws, ev, key(ws), flt)


# --- event-level detail (analysts) ----------------------------------------------------------------------

EVENT_DETAIL_COLUMNS = ("occurred_at", "source", "category", "address", "status", "is_closed", "closed_at",
                        "text", "phone_masked", "id_masked", "plate_masked", "grid_small", "event_id")
"""What the event table and its CSV show: masked personal fields only, never a ``*_hash``."""

REPEAT_KINDS = ("phone", "plate")


@st.cache_resource(show_spinner=False, max_entries=8)
def _event_detail(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter) -> pd.DataFrame:
    ev = _filtered(_ws, _events, data_key, flt)
    cols = [col for col in EVENT_DETAIL_COLUMNS if col in ev.columns]
    return ev[cols].sort_values("occurred_at", ascending=False, kind="stable").reset_index(drop=True)


def event_detail(ws: Workspace, ev: pd.DataFrame, flt: EventFilter) -> pd.DataFrame:
    """Filtered events, newest first, with the columns of :data:`EVENT_DETAIL_COLUMNS` (cached; read-only)."""
    return _event_detail(ws, ev, key(ws), flt)


@st.cache_resource(show_spinner=False, max_entries=16)
def _repeats(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, kind: str, top: int
             ) -> pd.DataFrame:
    ev = _filtered(_ws, _events, data_key, flt)
    h, m = f"{kind}_hash", f"{kind}_masked"
    sub = ev.loc[ev[h].notna(), [h, m, "occurred_at"]]
    g = (sub.groupby(h, sort=False)
         .agg(masked=(m, "last"), events=(m, "size"), first=("occurred_at", "min"), last=("occurred_at", "max")))
    g = g[g["events"] >= 2].sort_values(["events", "last"], ascending=False).head(top)
    out = g.reset_index(drop=True)  # the hash identifies the person: it never leaves this function
    out["masked"] = out["masked"].fillna("***")
    out.insert(0, "rank", range(1, len(out) + 1))
    return out


def repeats(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, kind: str, top: int = 10) -> pd.DataFrame:
    """Top repeat callers (``kind="phone"``) or plates (``"plate"``) of the filtered events (cached).

    Counted by the salted hash, shown by the masked form: ``rank``, ``masked``, ``events``, ``first``,
    ``last`` for every hash with at least two events, most events first.
    """
    if kind not in REPEAT_KINDS:
        raise ValueError(f"unknown repeat kind {kind!r}; use one of {', '.join(REPEAT_KINDS)}")
    return _repeats(ws, ev, key(ws), flt, kind, int(top))


# --- trends and look-back -------------------------------------------------------------------------------

_PREFETCHED: set[Any] = set()
"""Background work started (tier structures) or computed in a page run (forecasts), once per process."""
_PREFETCH_LOCK = threading.Lock()


@st.cache_resource(show_spinner=False, max_entries=24)
def _emerging(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, tier: str) -> Any:
    from geo.analysis.trends import emerging_hotspots

    return emerging_hotspots(_ws, _events, flt, tier=tier)


def emerging(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str) -> Any:
    """:func:`geo.analysis.trends.emerging_hotspots` (weekly slices; cached by filter and tier)."""
    return _emerging(ws, ev, key(ws), flt, tier)


@st.cache_resource(show_spinner=False, max_entries=12)
def _forecast(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, tier: str, folds: int) -> Any:
    import warnings

    from geo.analysis.forecast import forecast as run

    token = ("forecast", data_key, flt, tier, folds)
    with _PREFETCH_LOCK:
        _PREFETCHED.add(token)  # computed here from now on: no background job for it any more
    job = background.take(token)
    if job is not None:  # started by prefetch_forecast: its result, if it is of the events shown
        try:
            version, result = job.result()
        except Exception:  # noqa: BLE001 - computed again below, where an error reaches the page
            version = result = None
        if version == data_key[1] and result is not None:
            return result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the learned models; the backtest judges them
        return run(_ws, _events, flt, tier=tier, folds=folds, run_backtest=True)


def forecast(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str, folds: int = 4) -> Any:
    """:func:`geo.analysis.forecast.forecast` with a ``folds``-week backtest (cached)."""
    return _forecast(ws, ev, key(ws), flt, tier, int(folds))


def prefetch_forecast(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str, folds: int = 4) -> bool:
    """Start :func:`forecast` in the background (:mod:`geo.app.background`), once per store
    version and arguments, unless it is cached already.

    The forecast (a backtest of learned models) takes seconds; computed while the user reads the page, the
    risk toggle finds it ready (a toggle while it runs waits for the rest).  Returns whether a job started.
    """
    token = ("forecast", key(ws), flt, tier, int(folds))
    with _PREFETCH_LOCK:
        if token in _PREFETCHED:  # computed (or being computed) in a page run already
            return False
    return background.submit(token, background.forecast_job, str(ws.root), flt, tier, int(folds))


def prefetch_tiers(ws: Workspace) -> bool:
    """Build every tier's filled study-area cells and official-grid crosswalk in a background thread.

    Once per workspace version (they depend on the area and the grids only): the first analysis on a
    tier otherwise spends most of its time on them, so the first switch to another tier would.
    """
    def warm() -> None:
        from geo.analysis.hotcells import area_cells, tier_crosswalk
        from geo.settings import TIERS

        for tier in TIERS:
            area_cells(ws, tier)
            tier_crosswalk(ws, tier)

    return _prefetch(("tiers", reference_key(ws)), warm)


def prefetch_hotspots(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tiers: list[str]) -> bool:
    """Compute :func:`hotspots` of ``tiers`` for a filter in a background thread (into the same cache).

    The hotspot page asks for the tiers it does not show: a switch of tier then finds its analysis
    (Gi* on the small tier takes about half a second on the sample) ready.  Once per store version,
    filter and tiers; returns whether a thread started.
    """
    data_key = key(ws)

    def warm() -> None:
        for tier in tiers:
            _hotspots(ws, ev, data_key, flt, tier, None)

    return _prefetch(("hotspots", data_key, flt, tuple(tiers)), warm)


def _prefetch(token: Any, call: Callable[[], Any]) -> bool:
    with _PREFETCH_LOCK:
        if token in _PREFETCHED:
            return False
        _PREFETCHED.add(token)

    def run() -> None:
        background.lower_thread_priority()
        try:
            call()
        except Exception:  # noqa: BLE001 - the page's own call raises it again and shows it
            with _PREFETCH_LOCK:
                _PREFETCHED.discard(token)

    threading.Thread(target=run, name="gridwatch-prefetch", daemon=True).start()
    return True


@st.cache_resource(show_spinner=False, max_entries=12)
def _forecast_grids(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, tier: str, folds: int,
                    n: int) -> pd.DataFrame | None:
    cells = _forecast(_ws, _events, data_key, flt, tier, folds).cells
    if _ws.grids is None or cells["grid_id"].isna().all():
        return None
    by = (cells.groupby("grid_id")
          .agg(expected=("expected", "sum"), last_week=("last_week", "sum"), cells=("cell", "size"))
          .sort_values("expected", ascending=False).head(n).reset_index())
    names = _ws.grids.drop_duplicates("grid_id").set_index("grid_id")["name"]
    by.insert(1, "name", names.reindex(by["grid_id"]).to_numpy())
    by.insert(0, "rank", range(1, len(by) + 1))
    return by


def forecast_grids(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str, folds: int = 4, n: int = 10
                   ) -> pd.DataFrame | None:
    """:func:`forecast` summed over official grids (``grid_id``, ``name``, ``expected``, ``last_week``, ``cells``),
    the ``n`` with the most expected events (cached; read-only).

    ``None`` when the workspace has no official grids.
    """
    return _forecast_grids(ws, ev, key(ws), flt, tier, int(folds), int(n))


@st.cache_resource(show_spinner=False, max_entries=12)
def _gaps(_ws: Workspace, _events: pd.DataFrame, data_key: Any, flt: EventFilter, tier: str) -> Any:
    from geo.analysis.gaps import coverage_gaps

    return coverage_gaps(_ws, _events, flt, tier=tier)


def gaps(ws: Workspace, ev: pd.DataFrame, flt: EventFilter, tier: str) -> Any:
    """:func:`geo.analysis.gaps.coverage_gaps` (cached)."""
    return _gaps(ws, ev, key(ws), flt, tier)


@st.cache_resource(show_spinner=False, max_entries=16)
def _grid_names(ref: Any, tier: str, _ws: Workspace) -> dict[str, str]:
    if _ws.grids is None:
        return {}
    g = _ws.grids[_ws.grids["tier"] == tier].sort_values("grid_id")
    return dict(zip(g["grid_id"].astype(str), g["name"].astype(str), strict=True))


def grid_names(ws: Workspace, tier: str) -> dict[str, str]:
    """Official grid id -> name of one tier (empty without grids), ordered by id (cached per grid file; read-only)."""
    return _grid_names(reference_key(ws), tier, ws)


@st.cache_resource(show_spinner=False, max_entries=16)
def _review(_ws: Workspace, _events: pd.DataFrame, data_key: Any, start: Any, end: Any, grid_ids: tuple[str, ...],
            n_boot: int) -> Any:
    from geo.analysis.review import campaign_review

    return campaign_review(_ws, _events, start, end, grid_ids=grid_ids, n_boot=n_boot)


def review(ws: Workspace, ev: pd.DataFrame, start: Any, end: Any, grid_ids: tuple[str, ...], n_boot: int = 500) -> Any:
    """:func:`geo.analysis.review.campaign_review` of official grids (cached)."""
    return _review(ws, ev, key(ws), start, end, tuple(sorted(grid_ids)), int(n_boot))
