"""Typed settings of gridwatch and their documented defaults.

All tunable numbers and tables of the product live here: tier resolutions,
shift windows, the category table, the coordinate system of each source,
hotspot, zone and post-planning parameters.  A workspace's ``gridwatch.toml``
overrides any of them (see :mod:`geo.store.workspace`); nothing else in ``geo``
hard-codes them.

Defaults and why
----------------
- ``tiers``: big/middle/small grids = H3 resolution 7/8/9.  Near 40°N a res-9
  cell is ~0.075 km², res-8 ~0.53 km², res-7 ~3.7 km²; Guanyinsi street's
  official grids average 2.05/0.78/0.13 km² (``gridwatch grid calibrate``
  measures a place's own).
- ``metric_crs``: EPSG:4548 (CGCS2000 3-degree Gauss-Kruger, CM 117°E), the
  right zone for Beijing; other cities set their own zone.
- ``windows``: the seeds' 早晚高峰 (07–09, 17–19), day/night, 5+2.
- ``categories``: the problems named in the seeds, each with Chinese and
  English labels, raw-value synonyms and a demand weight for post planning
  (red-light running and wrong-way riding above parking).  A custom category
  needs one label: ``label`` (the data's language), ``label_zh`` or ``label_en``.
  Raw values that match none become the workspace's own categories
  (``categories.toml``, see :mod:`geo.store.categories`), not ``other``.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SOURCES: tuple[str, ...] = ("patrol", "hotline", "violation", "snapshot", "grid_event")
"""Event sources accepted by the store."""

TIERS: tuple[str, ...] = ("big", "middle", "small")
"""Grid tiers, coarse to fine (大/中/小网格)."""

Source = Literal["patrol", "hotline", "violation", "snapshot", "grid_event"]
Tier = Literal["big", "middle", "small"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeWindow(_Model):
    """A named, possibly midnight-crossing, time-of-day and weekday window.

    ``start``/``end`` are local wall-clock ``HH:MM``; ``end`` is exclusive and
    ``end <= start`` means the window crosses midnight (``19:00``–``07:00``).
    ``start == end == "00:00"`` is the whole day.  ``days`` are ISO weekdays
    counted from 0 = Monday; the weekday of a midnight-crossing window is the
    weekday of the moment itself.
    """

    name: str
    label_zh: str
    label_en: str
    start: str = "00:00"
    end: str = "00:00"
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)

    @field_validator("start", "end")
    @classmethod
    def _check_hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise ValueError(f"time {v!r} is not HH:MM (00:00–24:00), e.g. '07:00'")
        return v

    @field_validator("days")
    @classmethod
    def _check_days(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(d < 0 or d > 6 for d in v):
            raise ValueError(f"days {v!r} must be weekdays 0 (Monday) … 6 (Sunday)")
        return tuple(sorted(set(v)))

    def minutes(self) -> tuple[int, int]:
        """Start and end as minutes after midnight (end 24:00 = 1440)."""
        def m(s: str) -> int:
            h, mm = s.split(":")
            return int(h) * 60 + int(mm)
        return m(self.start), m(self.end)

    def start_time(self) -> time:
        h, m = self.start.split(":")
        return time(int(h) % 24, int(m))


class Category(_Model):
    """One canonical problem category.

    ``synonyms`` are raw values (after whitespace/full-width normalisation)
    that map to this category; the Chinese label always maps too.
    ``weight`` is its demand weight in post planning.
    """

    code: str
    label_zh: str = ""
    label_en: str = ""
    label: str = ""
    """The label in the data's own language (a city's categories need no Chinese label)."""
    synonyms: tuple[str, ...] = ()
    weight: float = Field(default=1.0, ge=0)
    sources: tuple[Source, ...] = SOURCES  # type: ignore[assignment]

    @model_validator(mode="after")
    def _some_label(self) -> Category:
        if not (self.label_zh or self.label_en or self.label):
            raise ValueError(f"category {self.code!r} needs a label: give label (in the data's language), "
                             "label_zh or label_en")
        return self

    def display(self, lang: str) -> str:
        """The label to show in ``lang`` (``zh``/``en``): that language's label, else whichever exists."""
        own = self.label_zh if lang == "zh" else self.label_en if lang == "en" else ""
        return own or self.label or self.label_zh or self.label_en or self.code


DEFAULT_WINDOWS: tuple[TimeWindow, ...] = (
    TimeWindow(name="all", label_zh="全天", label_en="All day"),
    TimeWindow(name="morning_peak", label_zh="早高峰", label_en="Morning peak",
               start="07:00", end="09:00", days=(0, 1, 2, 3, 4)),
    TimeWindow(name="evening_peak", label_zh="晚高峰", label_en="Evening peak",
               start="17:00", end="19:00", days=(0, 1, 2, 3, 4)),
    TimeWindow(name="day", label_zh="白天", label_en="Day", start="07:00", end="19:00"),
    TimeWindow(name="night", label_zh="夜间", label_en="Night", start="19:00", end="07:00"),
    TimeWindow(name="weekday", label_zh="工作日", label_en="Weekdays", days=(0, 1, 2, 3, 4)),
    TimeWindow(name="weekend", label_zh="周末", label_en="Weekends", days=(5, 6)),
)

DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category(code="red_light", label_zh="闯红灯", label_en="Red-light running",
             synonyms=("闯红灯", "闯信号灯", "违反信号灯通行", "不按交通信号灯通行"), weight=3.0),
    Category(code="wrong_way", label_zh="逆行", label_en="Wrong-way riding",
             synonyms=("逆向行驶", "逆行", "非机动车逆行"), weight=3.0),
    Category(code="motor_lane", label_zh="进入机动车道行驶", label_en="Riding in motor lanes",
             synonyms=("进入机动车道", "非机动车进入机动车道", "占用机动车道行驶"), weight=2.0),
    Category(code="illegal_parking", label_zh="违法停放", label_en="Illegal parking",
             synonyms=("违法停车", "违章停车", "乱停乱放", "违规停放", "违停"), weight=1.0),
    Category(code="etricycle", label_zh="违规电动三四轮车", label_en="Non-compliant e-tricycle/quadricycle",
             synonyms=("电动三轮车", "电动四轮车", "电动三四轮车", "老年代步车", "非标电动车", "三四轮车"),
             weight=2.0),
    Category(code="zombie_vehicle", label_zh="僵尸车", label_en="Abandoned (zombie) vehicle",
             synonyms=("僵尸车", "废弃车辆", "长期停放废弃车"), weight=1.0),
    Category(code="battery_charging", label_zh="飞线充电", label_en="Flying-lead / illegal charging",
             synonyms=("飞线充电", "违规充电", "私拉电线充电", "瓶车分离", "电瓶入户"), weight=1.0),
    Category(code="corridor_parking", label_zh="楼道停放电动车", label_en="E-bike parked in corridor",
             synonyms=("楼道停放电动车", "电动车进楼", "电动车楼道停放", "电动车入户"), weight=1.0),
    Category(code="unlicensed_vending", label_zh="无照经营", label_en="Unlicensed vending",
             synonyms=("无照经营", "游商", "流动商贩", "无证摊贩"), weight=1.0),
    Category(code="road_occupation", label_zh="占道经营", label_en="Road-occupying business",
             synonyms=("占道经营", "马路市场", "店外经营", "出店经营"), weight=1.0),
    Category(code="illegal_construction", label_zh="违法建设", label_en="Illegal construction",
             synonyms=("违法建设", "私搭乱建", "违章建筑", "违建", "开墙打洞"), weight=1.0),
    Category(code="debris_pile", label_zh="堆物堆料", label_en="Debris / material piles",
             synonyms=("堆物堆料", "渣土", "建筑垃圾", "渣土堆放", "乱堆乱放"), weight=1.0),
    Category(code="manhole", label_zh="井盖损坏", label_en="Damaged manhole cover",
             synonyms=("井盖损坏", "井盖缺失", "井盖破损", "井盖"), weight=1.0),
    Category(code="pavement", label_zh="街面破损", label_en="Damaged pavement",
             synonyms=("街面破损", "道路破损", "路面坑洼", "步道破损"), weight=1.0),
    Category(code="parking_difficulty", label_zh="停车难", label_en="Parking difficulty",
             synonyms=("停车难", "停车位不足"), weight=0.5),
    Category(code="garbage", label_zh="垃圾分类", label_en="Garbage sorting / litter",
             synonyms=("垃圾分类", "垃圾乱扔", "垃圾满溢", "垃圾"), weight=0.5),
    Category(code="bbq_smoke", label_zh="露天烧烤", label_en="Open-air barbecue smoke",
             synonyms=("露天烧烤", "烧烤油烟", "油烟扰民"), weight=0.5),
    Category(code="coal_stove", label_zh="燃煤", label_en="Coal stove",
             synonyms=("燃煤", "散煤", "煤炉"), weight=0.5),
)
OTHER_CATEGORY = "other"
"""Code of the catch-all category: raw values that say "other" (:data:`OTHER_WORDS`) or a user merged there."""

OTHER_WORDS: tuple[str, ...] = ("其他", "其它", "其他问题", "其它问题", "其他类", "其它类", "other", "others",
                                "misc", "miscellaneous")
"""Raw category values (exact, case-insensitive) that mean "other" and map to :data:`OTHER_CATEGORY`;
any other value with no match in the table becomes a category of the workspace itself."""

DEFAULT_SOURCE_CRS: dict[str, str] = {
    "patrol": "WGS84",      # GPS devices of patrol staff
    "hotline": "GCJ02",     # 12345 platform geocodes with Amap
    "violation": "CGCS2000",  # police systems survey in CGCS2000
    "snapshot": "BD09",     # 随手拍 mini-programs on Baidu maps
    "grid_event": "WGS84",
}


class Tiers(_Model):
    """H3 resolution of each grid tier."""

    big: int = Field(default=7, ge=0, le=15)
    middle: int = Field(default=8, ge=0, le=15)
    small: int = Field(default=9, ge=0, le=15)

    @model_validator(mode="after")
    def _ordered(self) -> Tiers:
        if not self.big <= self.middle <= self.small:
            raise ValueError(
                f"tier resolutions must satisfy big <= middle <= small, got "
                f"{self.big}/{self.middle}/{self.small}")
        return self

    def resolution(self, tier: str) -> int:
        if tier not in TIERS:
            raise ValueError(f"unknown tier {tier!r}; use one of {', '.join(TIERS)}")
        return int(getattr(self, tier))


class IngestSettings(_Model):
    """Validation and de-duplication parameters of ingestion."""

    area_buffer_m: float = Field(default=200.0, ge=0)
    """Points farther than this outside the study area are quarantined."""
    near_duplicate_m: float = Field(default=10.0, ge=0)
    near_duplicate_s: float = Field(default=120.0, ge=0)
    geocode_min_score: float = Field(default=85.0, ge=0, le=100)
    """Fuzzy address matches below this score (0–100) are not accepted."""
    earliest: str = "2000-01-01"
    """Events before this date are quarantined as impossible times."""
    max_future_days: int = Field(default=1, ge=0)
    """Events later than now + this are quarantined."""
    max_text_chars: int = Field(default=2000, ge=1)
    """Longer free text is truncated (and flagged) on ingest."""
    max_field_lines: int = Field(default=50, ge=2)
    """A CSV record whose quoted field crosses more line ends than this is a runaway quote (a stray ``"``):
    its first line is quarantined as ``broken_quote`` and the lines after it are read normally."""
    max_record_mb: float = Field(default=4.0, gt=0)
    """A CSV record larger than this (MB) is quarantined (``broken_quote`` when it crosses line ends,
    else ``record_too_large``) instead of stopping the file."""
    overdue_days: int = Field(default=7, ge=1)
    """A hotline work order open longer than this is overdue."""


class HotspotSettings(_Model):
    k: int = Field(default=1, ge=1, le=10)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    fdr: bool = True
    inference: Literal["analytic", "csr", "pooled", "permutation"] = "csr"
    """p-values: "csr" (default) holds its false-discovery rate on Poisson null maps at every count level and
    finds compact intersection hot spots; "pooled" also holds it on over-dispersed counts but misses 1-2-cell
    hot spots; "analytic" is anti-conservative below ~10 events per cell (see geo/analysis/gistar.py)."""
    simulations: int = Field(default=499, ge=19)
    permutations: int = Field(default=999, ge=0)
    seed: int = 0


class ZoneSettings(_Model):
    """Density clusters of event points (hotspot zones).

    A point is a core point when its ``eps_m`` disc holds at least
    ``min_samples`` events *and* at least ``min_density_ratio`` times what the
    disc would hold at the area's average density — so a busy district does
    not melt into one zone and a quiet one still needs a real cluster.
    """

    algorithm: Literal["dbscan", "hdbscan"] = "dbscan"
    eps_m: float = Field(default=100.0, gt=0)
    min_samples: int = Field(default=15, ge=2)
    min_density_ratio: float = Field(default=4.0, ge=0)
    buffer_m: float = Field(default=25.0, ge=0)


class BasemapSettings(_Model):
    """An optional tile layer under the maps (none by default: the app draws its base from the workspace).

    ``crs`` is the tiles' system: with ``GCJ02`` tiles (Amap, Tencent) every overlay is shifted to
    GCJ-02 so it lines up; WGS84 points are never drawn on GCJ-02 tiles unshifted.
    """

    url: str = ""
    crs: Literal["WGS84", "GCJ02"] = "WGS84"
    attribution: str = ""
    max_zoom: int = Field(default=18, ge=1, le=22)
    subdomains: str = "abc"


class PostSettings(_Model):
    p: int = Field(default=20, ge=1)
    radius_m: float = Field(default=300.0, gt=0)
    solver: Literal["auto", "exact", "greedy"] = "auto"
    time_limit_s: float = Field(default=60.0, gt=0)
    segment_length_m: float = Field(default=500.0, gt=0)
    snap_m: float = Field(default=50.0, gt=0)
    max_exact_pairs: int = Field(default=250_000, ge=1)
    """``auto`` uses the exact MILP while the coverage matrix, or its exact reduction (identical demand rows
    merged, dominated candidates dropped), has at most this many non-zeros; greedy with local search beyond."""


class AccessSettings(_Model):
    """Login, sessions and upload limits of the app (issue 12).

    The offline default is a local password file (``users_file`` in the
    workspace, argon2id hashes); an OpenID Connect provider configured in
    Streamlit's ``secrets.toml`` can be used instead (``mode = "oidc"``).
    """

    mode: Literal["password", "oidc"] = "password"
    users_file: str = "users.toml"
    """Password file, relative to the workspace folder."""
    session_timeout_minutes: float = Field(default=30.0, gt=0)
    """An idle session is logged out after this long (a street office PC is shared)."""
    max_failed_logins: int = Field(default=5, ge=1)
    """This many wrong passwords in a row *from one source address* lock that account for that
    address (other addresses, e.g. the user's own office PC, keep working)."""
    lockout_minutes: float = Field(default=15.0, gt=0)
    """First lock-out of an account from an address; each further failure after it doubles it."""
    lockout_max_minutes: float = Field(default=24 * 60.0, gt=0)
    """Longest lock-out the doubling reaches."""
    min_password_length: int = Field(default=10, ge=8)
    upload_max_mb: float = Field(default=50.0, gt=0)
    """Largest upload accepted by the app (a month of a district's exports is ~10 MB)."""
    upload_types: tuple[str, ...] = (".csv", ".txt", ".xlsx", ".geojson", ".json", ".parquet")
    xlsx_max_uncompressed_mb: float = Field(default=400.0, gt=0)
    """An XLSX whose parts inflate beyond this is refused (zip bomb guard)."""
    xlsx_max_ratio: float = Field(default=200.0, gt=1)
    """… as is one whose parts inflate more than this many times their compressed size."""
    keep_uploads_days: float = Field(default=0.0, ge=0)
    """Days an upload stays in the workspace's ``uploads/`` after it was ingested; ``0`` (the
    default) removes it as soon as the ingest succeeded (the store holds what is needed; the raw
    file holds caller numbers).  Uploads older than this — and uploads never ingested, after a
    day at least — are removed at the next upload."""


class StoreSettings(_Model):
    """How the event store is opened (issue 21).

    DuckDB lets one process write a store file at a time; a second process
    (an ingest while the app records a login) waits for it rather than
    failing at once, and says so every ``busy_progress_seconds``.
    """

    busy_wait_seconds: float = Field(default=30.0, ge=0)
    """Longest wait for a store another process holds before giving up with a message."""
    busy_progress_seconds: float = Field(default=2.0, gt=0)
    """Interval of the "store is busy, waiting" progress message."""


class ScaleSettings(_Model):
    """The Dask engine for city-wide volumes (issue 11).

    ``scheduler`` empty means a ``LocalCluster`` on this machine; otherwise the
    address of a running scheduler (``tcp://host:8786``; ``GRIDWATCH_SCHEDULER``
    overrides).  h3ronpy and most of pandas release the GIL, but the text and
    category steps do not, so the local default is one process per core with
    one thread each.
    """

    scheduler: str = ""
    workers: int = Field(default=0, ge=0)
    """Local worker processes (0 = one per core)."""
    threads_per_worker: int = Field(default=1, ge=1)
    chunk_mb: float = Field(default=64.0, gt=0)
    """Raw bytes per ingest task: a large CSV is read in byte ranges of this size."""
    buckets: int = Field(default=32, ge=1)
    """Hash buckets of the de-duplication shuffle (each holds ~1/buckets of the events)."""
    store_dir: str = "events_parquet"
    """The partitioned GeoParquet event store, relative to the workspace folder."""


class Settings(_Model):
    """Everything configurable about one workspace."""

    name: str = "gridwatch"
    timezone: str = "Asia/Shanghai"
    metric_crs: str = "EPSG:4548"
    tiers: Tiers = Tiers()
    source_crs: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_SOURCE_CRS))
    windows: tuple[TimeWindow, ...] = DEFAULT_WINDOWS
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    ingest: IngestSettings = IngestSettings()
    hotspots: HotspotSettings = HotspotSettings()
    zones: ZoneSettings = ZoneSettings()
    posts: PostSettings = PostSettings()
    basemap: BasemapSettings = BasemapSettings()
    access: AccessSettings = AccessSettings()
    scale: ScaleSettings = ScaleSettings()
    workspace_categories: tuple[Category, ...] = Field(default=(), exclude=True)
    """The workspace's own categories (raw values of its data with no taxonomy match), read from
    ``categories.toml`` in the workspace folder by :mod:`geo.store.categories`; never written to
    ``gridwatch.toml``."""
    category_values: dict[str, str] = Field(default_factory=dict, exclude=True)
    """Exact raw value → category code from ``categories.toml`` (merges a user made)."""
    store: StoreSettings = StoreSettings()

    @field_validator("source_crs")
    @classmethod
    def _known_sources(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown source(s) {sorted(unknown)}; sources are {', '.join(SOURCES)}")
        return {**DEFAULT_SOURCE_CRS, **v}

    @field_validator("windows")
    @classmethod
    def _unique_windows(cls, v: tuple[TimeWindow, ...]) -> tuple[TimeWindow, ...]:
        names = [w.name for w in v]
        if len(set(names)) != len(names):
            raise ValueError(f"window names must be unique, got {names}")
        return v

    @field_validator("categories")
    @classmethod
    def _unique_categories(cls, v: tuple[Category, ...]) -> tuple[Category, ...]:
        codes = [c.code for c in v]
        if len(set(codes)) != len(codes) or OTHER_CATEGORY in codes:
            raise ValueError(f"category codes must be unique and not {OTHER_CATEGORY!r}, got {codes}")
        return v

    def window(self, name: str) -> TimeWindow:
        """The window called ``name``; a clear error lists the known ones."""
        for w in self.windows:
            if w.name == name:
                return w
        raise ValueError(
            f"unknown time window {name!r}; known windows: {', '.join(w.name for w in self.windows)} "
            "(define more under [[windows]] in gridwatch.toml)")

    @model_validator(mode="after")
    def _own_codes_are_new(self) -> Settings:
        taken = {c.code for c in self.categories} | {OTHER_CATEGORY}
        clash = sorted(c.code for c in self.workspace_categories if c.code in taken)
        if clash:
            raise ValueError(f"workspace categories {clash} reuse a code of the category table; "
                             "rename them in categories.toml")
        return self

    @property
    def all_categories(self) -> tuple[Category, ...]:
        """The category table followed by the workspace's own categories."""
        return self.categories + self.workspace_categories

    def category(self, code: str) -> Category:
        for c in self.all_categories:
            if c.code == code:
                return c
        raise ValueError(
            f"unknown category {code!r}; known categories: {', '.join(c.code for c in self.all_categories)}")

    def category_weights(self) -> dict[str, float]:
        """Demand weight per category code (``other`` weighs 1)."""
        return {**{c.code: c.weight for c in self.all_categories}, OTHER_CATEGORY: 1.0}
