"""The files of the sample and their contract: names, headers, encodings, CRS, sizes, dirt kinds."""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- #
# contract
# --------------------------------------------------------------------------- #
FILES: dict[str, str] = {
    "patrol": "patrol.csv",
    "hotline": "hotline_12345.csv",
    "violation": "violations.xlsx",
    "snapshot": "snapshots.geojson",
    "addresses": "standard_addresses.csv",
    "truth": "truth.json",
}
"""File name of each output (``violation`` becomes ``violations.csv`` above XLSX_MAX_SCALE)."""

HEADERS: dict[str, tuple[str, ...]] = {
    "patrol": ("记录编号", "巡查时间", "经度", "纬度", "问题类型", "问题描述", "处置措施", "处置状态",
               "巡查人员", "巡查方式"),
    "hotline": ("工单编号", "受理时间", "诉求类别", "诉求内容", "诉求地址", "经度", "纬度", "来电号码",
                "办结时间", "办理状态"),
    "violation": ("违法编号", "违法时间", "违法地点", "经度", "纬度", "违法行为", "车辆类型", "号牌号码"),
    "snapshot": ("上报编号", "上报时间", "问题类别", "问题描述", "处理状态"),
    "addresses": ("地址编码", "标准地址", "道路", "门牌号", "经度", "纬度", "街道", "社区"),
}
"""Column headers of each export, in file order (snapshot: GeoJSON property names)."""

ENCODINGS: dict[str, str] = {"patrol": "utf-8", "hotline": "gbk", "addresses": "utf-8",
                             "snapshot": "utf-8", "violation": "utf-8"}
SOURCE_CRS: dict[str, str] = {"patrol": "WGS84", "hotline": "GCJ02", "violation": "CGCS2000",
                              "snapshot": "BD09"}

BASE_COUNTS: dict[str, int] = {"patrol": 25_000, "hotline": 20_000, "violation": 25_000, "snapshot": 6_000}
"""Background events per source for six months of one district at ``scale=1``."""

XLSX_MAX_SCALE = 5.0
"""Above this scale violations are written as CSV instead of XLSX (XLSX readers are slow)."""

DIRT_KINDS: tuple[str, ...] = (
    "bad_time", "missing_coords", "swapped_latlon", "outside_area", "exact_duplicate",
    "near_duplicate", "unknown_category", "whitespace", "fullwidth_digits", "address_not_found",
)
"""Kinds of dirt written into the exports (one per dirty row)."""

# share of the rows of each file that carry each kind of dirt (sums ≈ 2 %)
DIRT_RATES: dict[str, dict[str, float]] = {
    "patrol": {"bad_time": .0025, "missing_coords": .003, "swapped_latlon": .002, "outside_area": .002,
               "exact_duplicate": .0025, "near_duplicate": .003, "unknown_category": .002,
               "whitespace": .002, "fullwidth_digits": .0015},
    "hotline": {"bad_time": .002, "missing_coords": .0015, "swapped_latlon": .0015, "outside_area": .0015,
                "exact_duplicate": .002, "near_duplicate": .0035, "unknown_category": .003,
                "whitespace": .002, "fullwidth_digits": .0015, "address_not_found": .002},
    "violation": {"bad_time": .002, "missing_coords": .0025, "swapped_latlon": .002, "outside_area": .002,
                  "exact_duplicate": .0025, "near_duplicate": .003, "unknown_category": .002,
                  "whitespace": .002, "fullwidth_digits": .0015},
    "snapshot": {"bad_time": .0025, "missing_coords": .003, "swapped_latlon": .002, "outside_area": .002,
                 "exact_duplicate": .0025, "near_duplicate": .003, "unknown_category": .002,
                 "whitespace": .002, "fullwidth_digits": .0015},
}
DIRT_CODE = {k: i + 1 for i, k in enumerate(DIRT_KINDS)}

EPOCH_DAY = np.datetime64("1970-01-01", "D")
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = "2024-01-01T00:00:00Z"
CHUNK = 200_000


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams of one sample (the same seed gives the same streams)."""
    names = ("plan", "campaign", "gaz", "patrol", "hotline", "violation", "snapshot", "plant", "tables")
    children = np.random.SeedSequence(int(seed)).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}
