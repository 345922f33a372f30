"""Synthetic raw exports of every source, with planted truth.

``gridwatch sample --out DIR`` writes what the street offices' systems would
export for one district over a few months — patrol records, 12345 work orders
(GBK), traffic violations (XLSX), 随手拍 snapshots (GeoJSON, BD-09) and the
standard-address gazetteer — plus ``truth.json``: the hotspots that were
planted, the campaign effect for the 回头看 analysis and the number of each
kind of dirt written into each file.  The file layout is the contract in
``data/README.md`` ("Sample event exports").

Everything is synthetic.  Events are drawn in bulk with numpy from one
``numpy.random.SeedSequence(seed)``; the same seed, geography and arguments
give byte-identical files (the XLSX too: its document times and zip entry
times are fixed).

How events are made
-------------------
- *Where*: points along the roads of the geography (weighted by length and road
  class per source; patrols favour alleys, the hotline residential streets),
  violations mostly at intersections (weighted by the classes of the crossing
  roads).
- *When*: per-source day weights (weekday/weekend), a monthly warmth factor per
  category (vending and barbecue grow in summer, coal stoves fade after March) and an
  hour-of-day profile per source and category (violations peak 07–09 and
  17–19 on weekdays; nightly patrols run 19:00–23:00 with some early
  mornings; the hotline follows office hours with a lunchtime dip).
- *Planted hotspots*: extra events of given categories in a time window whose
  rate is ``multiplier`` × the source's own background rate there (all
  categories, same window and dates) within ``radius_m`` of the centre: at a
  busy intersection 200 m (half the extra events in the crossing, σ 20 m,
  half on its approaches), elsewhere a 300 m disc along the roads in the
  busiest tenth of the source's background.  Strong enough for Gi* at res 9
  (k = 1) to flag the hotspot's cells, at 3–8× background.
  Steady ones keep the multiplier; emerging ones grow linearly from 1 to
  ``multiplier_end``; fading ones shrink from ``multiplier_start`` to 1.
- *Campaign*: in a few official middle grids every source's background drops
  by 40 % from the campaign date (a Monday in the second half).
- *Dirt*: 1–3 % of the rows of each file carry exactly one defect each, counted
  in ``truth.json["dirt"][file]``; format variations that every reader must
  accept (three time formats, address variants) are counted apart
  (``time_formats``, ``addresses``) and are not dirt.

Scale
-----
``scale`` multiplies the event counts (default ≈ 76 k events for six months).
The generator is vectorised, keeps one source in memory at a time and writes
in chunks (the XLSX with its own
deterministic SpreadsheetML writer, not openpyxl).  Above ``XLSX_MAX_SCALE``
the violations are written as ``violations.csv`` (UTF-8, same columns, time
as ISO text, CGCS2000 = WGS84 values) instead of the XLSX, with a warning:
spreadsheet readers (openpyxl) read only ~10–20 k rows a second and a sheet
holds at most 1,048,575 rows, and nobody exports a million violations to Excel.
"""

from __future__ import annotations

import json
import math
import operator
import re
import time as _time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, reduce
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.errors import InputFileError, SettingsError
from geo.settings import DEFAULT_CATEGORIES, DEFAULT_WINDOWS

__all__ = [
    "Geography",
    "Simulation",
    "HEADERS",
    "FILES",
    "BASE_COUNTS",
    "DIRT_KINDS",
    "XLSX_MAX_SCALE",
    "XLSX_MAX_ROWS",
    "load_sample_geography",
    "build_gazetteer",
    "plan_hotspots",
    "plan_campaign",
    "simulate",
    "write_sample",
]

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
_DIRT_RATES: dict[str, dict[str, float]] = {
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
_DIRT_CODE = {k: i + 1 for i, k in enumerate(DIRT_KINDS)}

_EPOCH_DAY = np.datetime64("1970-01-01", "D")
_FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
_FIXED_DOC_TIME = "2024-01-01T00:00:00Z"
_CHUNK = 200_000

# --------------------------------------------------------------------------- #
# categories: codes, raw labels, unknown raw values
# --------------------------------------------------------------------------- #
_CATS: tuple[str, ...] = tuple(c.code for c in DEFAULT_CATEGORIES)
_CAT_INDEX = {c: i for i, c in enumerate(_CATS)}


def _raw_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels: list[str] = []
    offset, count = [], []
    for c in DEFAULT_CATEGORIES:
        names = [c.label_zh] + [s for s in c.synonyms if s != c.label_zh]
        offset.append(len(labels))
        count.append(len(names))
        labels.extend(names)
    return np.array(labels, dtype=object), np.array(offset), np.array(count)


_RAW_LABELS, _RAW_OFFSET, _RAW_COUNT = _raw_table()

_UNKNOWN_CATEGORIES: dict[str, tuple[str, ...]] = {
    "patrol": ("其他", "共享单车乱停", "小广告", "其它问题"),
    "hotline": ("噪音扰民", "咨询", "其他", "物业纠纷"),
    "violation": ("不按规定车道行驶", "未戴安全头盔", "其他违法行为"),
    "snapshot": ("其他", "绿化破坏", "小广告"),
}

# base shares of the background categories of each source (patrol per mode)
_SHARES: dict[str, dict[str, float]] = {
    "patrol_nightly": {"etricycle": .26, "illegal_parking": .12, "zombie_vehicle": .08, "unlicensed_vending": .08,
                       "road_occupation": .06, "debris_pile": .08, "battery_charging": .06,
                       "corridor_parking": .05, "garbage": .06, "illegal_construction": .03, "bbq_smoke": .05,
                       "coal_stove": .01, "manhole": .03, "pavement": .03},
    "patrol_weekly": {"corridor_parking": .28, "battery_charging": .28, "debris_pile": .15, "zombie_vehicle": .1,
                      "illegal_construction": .06, "garbage": .1, "coal_stove": .03},
    "patrol_monthly": {"etricycle": .4, "illegal_parking": .2, "unlicensed_vending": .14, "road_occupation": .14,
                       "zombie_vehicle": .12},
    "hotline": {"road_occupation": .13, "unlicensed_vending": .08, "debris_pile": .12, "illegal_construction": .10,
                "parking_difficulty": .12, "manhole": .06, "pavement": .09, "battery_charging": .06,
                "corridor_parking": .04, "garbage": .08, "bbq_smoke": .05, "illegal_parking": .04,
                "etricycle": .02, "coal_stove": .01},
    "violation": {"red_light": .33, "wrong_way": .25, "motor_lane": .20, "illegal_parking": .22},
    "snapshot": {"garbage": .2, "debris_pile": .15, "manhole": .1, "pavement": .15, "illegal_parking": .13,
                 "zombie_vehicle": .08, "road_occupation": .07, "unlicensed_vending": .05,
                 "illegal_construction": .04, "etricycle": .03},
}

# monthly warmth (Beijing, 1 = May) and each category's exponent on it
_WARMTH = np.array([.45, .5, .65, .85, 1.0, 1.2, 1.3, 1.3, 1.1, .9, .65, .5])
_SEASON_EXP = {"bbq_smoke": 2.0, "unlicensed_vending": 1.0, "road_occupation": .7, "garbage": .4,
               "coal_stove": -4.0, "battery_charging": -.3, "corridor_parking": -.3}

# road-class weights per metre of road, per source
_CLASSES = ("main", "secondary", "branch", "alley")
_CLASS_W = {
    "patrol": (.4, .7, 1.0, 1.4),
    "patrol_weekly": (.1, .3, 1.0, 1.6),
    "hotline": (.3, .6, 1.0, 1.3),
    "snapshot": (.8, 1.0, 1.0, .8),
    "violation_road": (1.0, .9, .5, .1),
}
_NODE_CLASS_W = np.array([3.0, 2.0, 1.0, .3])  # importance of a crossing road by class
_NODE_POWER = 1.0  # background violations per crossing ∝ importance ** this

# --------------------------------------------------------------------------- #
# hour-of-day profiles (weights per hour 0..23), weekday / weekend
# --------------------------------------------------------------------------- #
def _profile(pairs: dict[int, float]) -> np.ndarray:
    w = np.zeros(24)
    for h, v in pairs.items():
        w[h] = v
    return w


_H_NIGHTLY = _profile({19: 1.0, 20: 1.25, 21: 1.25, 22: .9, 5: .25, 6: .45})
_H_WEEKLY = _profile({9: 1, 10: 1.2, 11: 1, 14: 1.1, 15: 1.2, 16: .9})
_H_MONTHLY = _profile({14: 1, 15: 1.2, 16: 1})
_H_HOTLINE_WD = _profile({0: .08, 1: .05, 2: .04, 3: .04, 4: .05, 5: .1, 6: .25, 7: .6, 8: 1.2, 9: 1.6, 10: 1.7,
                          11: 1.5, 12: .75, 13: .9, 14: 1.5, 15: 1.5, 16: 1.4, 17: 1.2, 18: 1.0, 19: .95,
                          20: .8, 21: .6, 22: .35, 23: .15})
_H_HOTLINE_WE = _profile({0: .1, 1: .06, 2: .05, 3: .04, 4: .05, 5: .08, 6: .2, 7: .4, 8: .8, 9: 1.2, 10: 1.4,
                          11: 1.3, 12: .8, 13: .9, 14: 1.3, 15: 1.3, 16: 1.2, 17: 1.1, 18: 1.0, 19: 1.0,
                          20: .9, 21: .7, 22: .4, 23: .2})
_H_VIOL_WD = _profile({0: .05, 1: .03, 2: .02, 3: .02, 4: .03, 5: .1, 6: .5, 7: 3.2, 8: 3.4, 9: .9, 10: .7,
                       11: .7, 12: .8, 13: .7, 14: .7, 15: .8, 16: 1.0, 17: 3.2, 18: 3.0, 19: .9, 20: .5,
                       21: .35, 22: .2, 23: .1})
_H_VIOL_WE = _profile({0: .06, 1: .04, 2: .03, 3: .02, 4: .03, 5: .08, 6: .25, 7: .6, 8: .9, 9: 1.0, 10: 1.1,
                       11: 1.1, 12: 1.0, 13: .9, 14: 1.0, 15: 1.1, 16: 1.1, 17: 1.1, 18: 1.0, 19: .8, 20: .5,
                       21: .35, 22: .2, 23: .1})
_H_PARKING = _profile({h: (1.0 if 8 <= h <= 20 else .25) for h in range(24)})
_H_SNAP_WD = _profile({h: v for h, v in zip(range(7, 23), (.4, .9, 1.1, 1.1, 1.0, .9, .8, .9, 1.0, 1.0, 1.1,
                                                          1.2, 1.1, .9, .6, .3), strict=True)})
_H_SNAP_WE = _profile({h: v for h, v in zip(range(7, 23), (.3, .6, 1.0, 1.2, 1.2, 1.0, 1.0, 1.1, 1.2, 1.2, 1.1,
                                                          1.1, 1.0, .9, .6, .3), strict=True)})

# day-of-week factors (Monday first)
_DOW = {
    "patrol": np.ones(7),
    "hotline": np.array([1.05, 1.0, 1.0, 1.0, .95, .75, .75]),
    "violation": np.array([1.0, 1.0, 1.0, 1.0, 1.05, .55, .5]),
    "snapshot": np.array([.9, .9, .9, .9, .95, 1.3, 1.3]),
}

# --------------------------------------------------------------------------- #
# texts (all synthetic; every character is GBK-encodable)
# --------------------------------------------------------------------------- #
_PATROL_TEXT: dict[str, tuple[str, ...]] = {
    "etricycle": ("{road}发现电动三轮车违规停放", "{road}路口有老年代步车上路行驶", "{road}一辆电动四轮车占用非机动车道停放",
                  "巡查至{road}，发现非标电动车载客"),
    "illegal_parking": ("{road}机动车违停占用人行道", "{road}非机动车乱停乱放影响通行", "{road}路边车辆违规停放"),
    "zombie_vehicle": ("{road}有长期停放的废弃车辆", "{road}路边僵尸车一辆，积灰严重", "{road}废弃电动车多辆"),
    "unlicensed_vending": ("{road}有流动商贩摆摊", "{road}游商售卖水果", "{road}无照摊贩占道销售"),
    "road_occupation": ("{road}商户店外经营", "{road}店铺出店摆放商品", "{road}餐馆占道摆桌"),
    "debris_pile": ("{road}路边堆放建筑垃圾", "{road}有渣土堆放未苫盖", "{road}杂物乱堆乱放"),
    "battery_charging": ("{road}居民楼私拉电线充电", "{road}发现飞线充电", "{road}平房院内电瓶入户充电"),
    "corridor_parking": ("{road}楼道内停放电动车", "{road}单元门口电动车进楼", "{road}楼道停放电动车堵塞通道"),
    "garbage": ("{road}垃圾桶满溢", "{road}垃圾未分类投放", "{road}路边垃圾乱扔"),
    "illegal_construction": ("{road}平房院内私搭乱建", "{road}疑似新建违建", "{road}有开墙打洞现象"),
    "bbq_smoke": ("{road}夜间露天烧烤", "{road}烧烤油烟扰民"),
    "coal_stove": ("{road}平房使用煤炉取暖", "{road}发现散煤"),
    "manhole": ("{road}井盖破损", "{road}井盖缺失，已设置警示"),
    "pavement": ("{road}步道砖破损", "{road}路面坑洼"),
}
_HOTLINE_TEXT: dict[str, tuple[str, ...]] = {
    "etricycle": ("市民来电反映：{addr}附近经常有电动三轮车逆行，存在安全隐患，希望加强管理。",
                  "来电人称{addr}门口停放多辆老年代步车，影响通行。"),
    "illegal_parking": ("市民来电反映：{addr}门口车辆乱停，堵塞消防通道。", "来电人称{addr}附近非机动车乱停乱放。"),
    "zombie_vehicle": ("市民来电反映：{addr}旁有一辆废弃车辆长期停放，无人处理。",),
    "unlicensed_vending": ("市民来电反映：{addr}附近每天下午有流动商贩摆摊，影响通行，希望尽快处理。",
                           "来电人称{addr}门口游商聚集，噪音大、垃圾多。", "市民反映{addr}周边有无照摊贩售卖。"),
    "road_occupation": ("市民来电反映：{addr}的商户长期店外经营，占用人行道。", "来电人称{addr}附近形成马路市场，行人难以通过。"),
    "debris_pile": ("市民来电反映：{addr}旁堆放大量建筑垃圾，多日无人清运。", "来电人称{addr}楼下杂物乱堆乱放，存在消防隐患。"),
    "battery_charging": ("市民来电反映：{addr}有居民从楼上私拉电线给电动车充电，存在火灾隐患。",
                         "来电人称{addr}楼道内飞线充电，希望尽快处理。"),
    "corridor_parking": ("市民来电反映：{addr}楼道内长期停放电动车，堵塞通道。",),
    "garbage": ("市民来电反映：{addr}垃圾桶满溢，异味严重。", "来电人称{addr}附近垃圾未按分类投放。"),
    "illegal_construction": ("市民来电反映：{addr}院内有人私搭乱建。", "来电人称{addr}一层商户开墙打洞。"),
    "bbq_smoke": ("市民来电反映：{addr}附近夜间有露天烧烤，油烟扰民。",),
    "coal_stove": ("市民来电反映：{addr}有住户烧煤取暖，烟味大。",),
    "manhole": ("市民来电反映：{addr}门口井盖破损，存在安全隐患。", "来电人称{addr}附近井盖缺失。"),
    "pavement": ("市民来电反映：{addr}门前步道砖破损，老人容易摔倒。", "来电人称{addr}附近路面坑洼，雨天积水。"),
    "parking_difficulty": ("市民来电反映：{addr}小区停车位不足，希望协调停车。", "来电人称{addr}附近停车难，夜间无处停车。"),
    "other": ("市民来电反映：{addr}附近问题，希望相关部门处理。",),
}
_SNAP_TEXT: dict[str, tuple[str, ...]] = {
    "garbage": ("{road}垃圾满溢", "{road}有人乱扔垃圾"), "debris_pile": ("{road}建筑垃圾堆放", "{road}杂物堆放"),
    "manhole": ("{road}井盖松动", "{road}井盖破损"), "pavement": ("{road}路面塌陷", "{road}步道破损"),
    "illegal_parking": ("{road}车辆乱停", "{road}共享单车堆积"), "zombie_vehicle": ("{road}僵尸车",),
    "road_occupation": ("{road}店外经营",), "unlicensed_vending": ("{road}游商摆摊",),
    "illegal_construction": ("{road}私搭乱建",), "etricycle": ("{road}电动三轮车违停",),
    "battery_charging": ("{road}飞线充电",), "corridor_parking": ("{road}电动车进楼",),
    "bbq_smoke": ("{road}露天烧烤",), "coal_stove": ("{road}烧煤冒烟",), "red_light": ("{road}闯红灯",),
    "wrong_way": ("{road}逆行",), "motor_lane": ("{road}占用机动车道",), "parking_difficulty": ("{road}停车难",),
}
_ACTIONS: dict[str, tuple[str, ...]] = {  # mild → harsh
    "etricycle": ("劝离", "教育", "登记劝导", "暂扣"), "illegal_parking": ("劝离", "教育", "张贴告知书", "拖移"),
    "zombie_vehicle": ("登记", "张贴告知书", "拖移"), "unlicensed_vending": ("劝离", "教育", "暂扣", "立案"),
    "road_occupation": ("教育", "整改", "立案"), "debris_pile": ("整改", "清理", "上报"),
    "battery_charging": ("教育", "拆除飞线", "整改"), "corridor_parking": ("劝离", "教育", "整改"),
    "garbage": ("教育", "清理"), "illegal_construction": ("上报", "整改", "立案"), "bbq_smoke": ("劝离", "暂扣", "立案"),
    "coal_stove": ("教育", "整改"), "manhole": ("上报", "设置警示"), "pavement": ("上报", "设置警示"),
}
_PATROL_MODES = np.array(["每日一巡", "每周一查", "每月一罚"], dtype=object)
_PATROL_STATUS = np.array(["已处置", "处置中", "待处置"], dtype=object)
_HOTLINE_STATUS = np.array(["已办结", "办理中", "待受理", "已退回"], dtype=object)
_SNAP_STATUS = np.array(["已处理", "处理中", "未处理"], dtype=object)
_VEHICLES = np.array(["电动自行车", "电动三轮车", "电动四轮车", "自行车", "摩托车", "小型汽车"], dtype=object)
_VEH_P_MOVING = np.array([.52, .2, .08, .08, .05, .07])
_VEH_P_PARKING = np.array([.15, .15, .1, .0, .0, .6])
_SURNAMES = tuple("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐韩冯董")
_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "艳", "杰", "军", "勇", "涛", "明", "超", "霞", "平", "刚",
          "鑫", "宇", "浩", "婷", "建国", "海燕", "志强", "丽华", "晓东", "春生", "秀英", "立新")
_PLATE_LETTERS = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"), dtype=object)
_PLATE_CHARS = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"), dtype=object)
_FAKE_ROADS = ("幸福大街", "光明路", "建设东路", "和平里南街", "前进胡同")
_TYPO_MAP = {"东": "冬", "西": "希", "南": "男", "北": "背", "路": "璐", "街": "接", "巷": "向", "胡": "湖",
             "一": "1", "二": "2", "三": "3", "条": "调", "大": "达", "样": "洋", "例": "列"}
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"), dtype=object)
_ID_REGIONS = np.array(["110102", "110101", "110105", "110108", "130102", "120101", "370102", "410105"],
                       dtype=object)


# --------------------------------------------------------------------------- #
# geography
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Geography:
    """The reference layers the sample is drawn on (all WGS84).

    Attributes
    ----------
    area : shapely Polygon or MultiPolygon
        The study area (a district).
    roads : GeoDataFrame
        LineStrings with ``road_id``, ``name``, ``class`` ∈ main/secondary/branch/alley.
    intersections : GeoDataFrame
        Points with ``node_id``, ``name``, ``classes`` (classes of the crossing roads), ``degree``.
    grids : GeoDataFrame
        Official grids with ``grid_id``, ``tier`` ∈ big/middle/small, ``street_code``, ``street_name``
        (and optionally ``community``).
    communities : DataFrame or None
        ``community_name``, ``street_code``, ``district_code``: text labels given to small grids.
    district_name, district_code, city_name : str
        Used in address prefixes and codes.
    """

    area: Any
    roads: gpd.GeoDataFrame
    intersections: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    communities: pd.DataFrame | None = None
    district_name: str = "西城区"
    district_code: str = "110102"
    city_name: str = "北京市"


def _default_data_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "data" / "sample"


def load_sample_geography(data_dir: str | Path | None = None) -> Geography:
    """Read the sample reference geography from ``data/sample/``.

    Parameters
    ----------
    data_dir : path-like, optional
        Folder holding ``area_xicheng.geojson``, ``roads.geojson``,
        ``intersections.geojson`` and ``official_grids.geojson`` (default: the
        repository's ``data/sample``).  Community names are read from
        ``../reference/xicheng_dongcheng_communities.csv`` when present.

    Returns
    -------
    Geography
    """
    d = Path(data_dir) if data_dir is not None else _default_data_dir()
    names = {"area": "area_xicheng.geojson", "roads": "roads.geojson",
             "intersections": "intersections.geojson", "grids": "official_grids.geojson"}
    layers = {}
    for key, name in names.items():
        path = d / name
        if not path.exists():
            raise InputFileError(
                "sample geography file not found; build it with `python -m geo.synthetic.build_reference` "
                "or pass geography=Geography(...)", file=str(path))
        layers[key] = gpd.read_file(path).to_crs(4326) if key != "area" else gpd.read_file(path)
    area_gdf = layers["area"]
    if area_gdf.crs is not None:
        area_gdf = area_gdf.to_crs(4326)
    area = shapely.union_all(area_gdf.geometry.values)
    props = area_gdf.iloc[0].to_dict()
    kw: dict[str, str] = {}
    for col, key in (("name", "district_name"), ("code", "district_code")):
        v = props.get(col)
        if isinstance(v, str) and v:
            kw[key] = v
    comm_path = d.parent / "reference" / "xicheng_dongcheng_communities.csv"
    communities = pd.read_csv(comm_path, dtype=str) if comm_path.exists() else None
    return Geography(area=area, roads=layers["roads"], intersections=layers["intersections"],
                     grids=layers["grids"], communities=communities, **kw)


class _Local:
    """Equirectangular metres around a reference point (errors < 0.1 % across a district)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        phi = math.radians(lat0)
        self.lon0, self.lat0 = lon0, lat0
        self.ky = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
        self.kx = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)

    def fwd(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky

    def inv(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0

    def geom_fwd(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda c: np.column_stack(self.fwd(c[:, 0], c[:, 1])))

    def geom_inv(self, geoms: Any) -> Any:
        return shapely.transform(geoms, lambda c: np.column_stack(self.inv(c[:, 0], c[:, 1])))


def _as_list(v: Any) -> list[str]:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    if isinstance(v, (list, tuple, np.ndarray)):
        return [str(x) for x in v]
    s = str(v).strip()
    if s.startswith("["):
        try:
            return [str(x) for x in json.loads(s)]
        except json.JSONDecodeError:
            pass
    return [p for p in re.split(r"[,;|、/]\s*", s) if p]


def _locate(polys: np.ndarray, lon: np.ndarray, lat: np.ndarray, nearest: bool = True) -> np.ndarray:
    """Index of the polygon containing each point (first by position; nearest if none, else -1)."""
    out = np.full(len(lon), -1, dtype=np.int64)
    if len(lon) == 0 or len(polys) == 0:
        return out
    pts = shapely.points(lon, lat)
    tree = shapely.STRtree(polys)
    pi, gi = tree.query(pts, predicate="intersects")
    if len(pi):
        order = np.lexsort((gi, pi))
        pi, gi = pi[order], gi[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = gi[first]
    miss = np.flatnonzero(out < 0)
    if nearest and len(miss):
        qi, gi = tree.query_nearest(pts[miss], all_matches=False)
        out[miss[qi]] = gi
    return out


@dataclass
class _Prep:
    """Arrays derived once from a Geography."""

    geo: Geography
    loc: _Local
    area_m: Any
    area_km2: float
    # road segments in local metres
    sx0: np.ndarray
    sy0: np.ndarray
    sx1: np.ndarray
    sy1: np.ndarray
    slen: np.ndarray
    sclass: np.ndarray
    sroad: np.ndarray       # road-name index of each segment
    sbig: np.ndarray        # big-grid index of each segment's midpoint
    road_names: np.ndarray  # object array
    # intersections
    nx: np.ndarray
    ny: np.ndarray
    nweight: np.ndarray
    nid: np.ndarray
    nname: np.ndarray
    # grids
    big_ids: np.ndarray
    middle: gpd.GeoDataFrame
    small: gpd.GeoDataFrame
    small_street: np.ndarray
    small_community: np.ndarray
    small_street_code: np.ndarray
    centroid: tuple[float, float]
    max_radius_m: float


def _class_code(values: pd.Series) -> np.ndarray:
    m = {c: i for i, c in enumerate(_CLASSES)}
    return np.array([m.get(str(v).strip().lower(), 2) for v in values], dtype=np.int8)


def _community_labels(small: gpd.GeoDataFrame, communities: pd.DataFrame | None,
                      district_code: str) -> np.ndarray:
    """A community name per small grid: real names as text labels, in contiguous blocks per street."""
    if "community" in small.columns and small["community"].notna().all():
        return small["community"].astype(str).to_numpy(dtype=object)
    fallback = small["name"].astype(str).to_numpy(dtype=object) if "name" in small.columns else \
        small["grid_id"].astype(str).to_numpy(dtype=object)
    if communities is None or not len(communities):
        return fallback
    c = communities
    if "district_code" in c.columns:
        c = c[c["district_code"].astype(str) == str(district_code)]
    if not len(c):
        return fallback
    c = c.sort_values("community_code" if "community_code" in c.columns else "community_name")
    names = c["community_name"].astype(str).str.replace("社区居委会", "社区", regex=False) \
        .str.replace("居委会", "社区", regex=False).to_numpy(dtype=object)
    codes = c["street_code"].astype(str).to_numpy() if "street_code" in c.columns else np.full(len(c), "")
    out = fallback.copy()
    street = small["street_code"].astype(str).to_numpy() if "street_code" in small.columns else \
        np.full(len(small), "")
    order = np.lexsort((small["grid_id"].astype(str).to_numpy(), street))
    for sc in sorted(set(street)):
        idx = order[street[order] == sc]
        pool = names[codes == sc]
        if not len(pool):  # synthetic street codes: spread the whole district's list
            k = sorted(set(street)).index(sc)
            n_st = len(set(street))
            lo, hi = len(names) * k // n_st, max(len(names) * (k + 1) // n_st, len(names) * k // n_st + 1)
            pool = names[lo:hi]
        out[idx] = pool[(np.arange(len(idx)) * len(pool)) // max(len(idx), 1)]
    return out


def _prepare(geo: Geography) -> _Prep:
    area = geo.area
    if area is None or shapely.is_empty(area):
        raise SettingsError("geography.area is empty; pass the study-area polygon (WGS84)")
    c = shapely.centroid(area)
    loc = _Local(float(c.x), float(c.y))
    area_m = loc.geom_fwd(area)
    roads = geo.roads
    for col in ("geometry", "class"):
        if col not in roads.columns:
            raise SettingsError(f"roads need a {col!r} column (LineStrings with class main/secondary/branch/alley)")
    names = roads["name"].fillna("").astype(str).to_numpy() if "name" in roads.columns else \
        np.full(len(roads), "", dtype=object)
    road_names, road_idx = np.unique(np.where(names == "", "附近道路", names), return_inverse=True)
    lines_m = loc.geom_fwd(roads.geometry.values)
    parts, part_of = shapely.get_parts(lines_m, return_index=True)
    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    same = cidx[1:] == cidx[:-1]
    p0, p1 = coords[:-1][same], coords[1:][same]
    seg_part = cidx[:-1][same]
    seg_road_row = part_of[seg_part]
    slen = np.hypot(p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1])
    keep = slen > 0.5
    p0, p1, seg_road_row, slen = p0[keep], p1[keep], seg_road_row[keep], slen[keep]
    sclass = _class_code(roads["class"])[seg_road_row]
    grids = geo.grids
    if "tier" not in grids.columns or "grid_id" not in grids.columns:
        raise SettingsError("official grids need 'grid_id' and 'tier' columns")
    big = grids[grids["tier"] == "big"].sort_values("grid_id")
    middle = grids[grids["tier"] == "middle"].sort_values("grid_id").reset_index(drop=True)
    small = grids[grids["tier"] == "small"].sort_values("grid_id").reset_index(drop=True)
    if not len(big) or not len(middle) or not len(small):
        raise SettingsError("official grids need big, middle and small tiers")
    mid_lon, mid_lat = loc.inv((p0[:, 0] + p1[:, 0]) / 2, (p0[:, 1] + p1[:, 1]) / 2)
    sbig = _locate(big.geometry.values, mid_lon, mid_lat)
    inter = geo.intersections
    nlon = inter["lon"].to_numpy(float) if "lon" in inter.columns else inter.geometry.x.to_numpy()
    nlat = inter["lat"].to_numpy(float) if "lat" in inter.columns else inter.geometry.y.to_numpy()
    nx, ny = loc.fwd(nlon, nlat)
    cls_lists = [_as_list(v) for v in (inter["classes"] if "classes" in inter.columns else [None] * len(inter))]
    cmap = {c: i for i, c in enumerate(_CLASSES)}
    # a crossing matters by its most important road, then by the other one (main×main > main×branch)
    nweight = np.array([2 * max(_NODE_CLASS_W[cmap.get(c, 2)] for c in cl) + min(_NODE_CLASS_W[cmap.get(c, 2)]
                                                                               for c in cl)
                        if cl else 3.0 for cl in cls_lists])
    inside = shapely.contains_xy(area_m, nx, ny)
    nx, ny, nweight = nx[inside], ny[inside], nweight[inside]
    nid = inter["node_id"].astype(str).to_numpy(dtype=object)[inside]
    nname = inter["name"].astype(str).to_numpy(dtype=object)[inside] if "name" in inter.columns else nid
    sroad = road_idx[seg_road_row]
    unnamed = road_names[sroad] == "附近道路"
    if unnamed.any() and not unnamed.all():  # an unnamed alley is described by the nearest named road
        mxy = np.column_stack(((p0[:, 0] + p1[:, 0]) / 2, (p0[:, 1] + p1[:, 1]) / 2))
        near = cKDTree(mxy[~unnamed]).query(mxy[unnamed])[1]
        sroad[unnamed] = sroad[~unnamed][near]
    ext = shapely.get_coordinates(area_m)
    cx, cy = loc.fwd(float(c.x), float(c.y))
    return _Prep(
        geo=geo, loc=loc, area_m=area_m, area_km2=float(shapely.area(area_m)) / 1e6,
        sx0=p0[:, 0], sy0=p0[:, 1], sx1=p1[:, 0], sy1=p1[:, 1], slen=slen, sclass=sclass,
        sroad=sroad, sbig=sbig, road_names=road_names.astype(object),
        nx=nx, ny=ny, nweight=nweight, nid=nid, nname=nname,
        big_ids=big["grid_id"].astype(str).to_numpy(dtype=object), middle=middle, small=small,
        small_street=small["street_name"].astype(str).to_numpy(dtype=object)
        if "street_name" in small.columns else np.full(len(small), "", dtype=object),
        small_community=_community_labels(small, geo.communities, geo.district_code),
        small_street_code=small["street_code"].astype(str).to_numpy(dtype=object)
        if "street_code" in small.columns else np.full(len(small), geo.district_code + "000", dtype=object),
        centroid=(float(cx), float(cy)),
        max_radius_m=float(np.max(np.hypot(ext[:, 0] - cx, ext[:, 1] - cy))),
    )


# --------------------------------------------------------------------------- #
# spatial samplers (local metres)
# --------------------------------------------------------------------------- #
def _road_points(p: _Prep, rng: np.random.Generator, n: int, class_w: tuple[float, ...],
                 seg_mask: np.ndarray | None = None, sigma_m: float = 5.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = p.slen * np.asarray(class_w)[p.sclass]
    if seg_mask is not None:
        w = np.where(seg_mask, w, 0.0)
    if n == 0 or w.sum() <= 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    seg = rng.choice(len(w), size=n, p=w / w.sum())
    u = rng.random(n)
    off = rng.normal(0.0, sigma_m, n)
    dx, dy = p.sx1[seg] - p.sx0[seg], p.sy1[seg] - p.sy0[seg]
    ln = p.slen[seg]
    x = p.sx0[seg] + u * dx - off * dy / ln
    y = p.sy0[seg] + u * dy + off * dx / ln
    return x, y, seg


def _node_points(p: _Prep, rng: np.random.Generator, n: int, sigma_m: float = 15.0,
                 node_p: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = p.nweight if node_p is None else node_p
    node = rng.choice(len(w), size=n, p=w / w.sum())
    x = p.nx[node] + rng.normal(0, sigma_m, n)
    y = p.ny[node] + rng.normal(0, sigma_m, n)
    return x, y, node


def _nearest_seg(p: _Prep, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Segment index nearest to each point (via a KD-tree on segment midpoints)."""
    tree = cKDTree(np.column_stack(((p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2)))
    return tree.query(np.column_stack((x, y)))[1].astype(np.int64)


# --------------------------------------------------------------------------- #
# time helpers
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class _Period:
    start: np.datetime64   # day
    end: np.datetime64     # exclusive day
    n_days: int
    dow: np.ndarray        # weekday of each day, Monday = 0
    month: np.ndarray      # 1..12 of each day

    @property
    def t0(self) -> int:
        return int((self.start - _EPOCH_DAY).astype(np.int64)) * 86400

    def day_of(self, date: np.datetime64) -> int:
        return int((np.datetime64(date, "D") - self.start).astype(np.int64))

    def date(self, day: int) -> str:
        return str(self.start + np.timedelta64(int(day), "D"))


def _period(start: str, months: int) -> _Period:
    try:
        s = pd.Timestamp(start).normalize()
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"start {start!r} is not a date; use YYYY-MM-DD, e.g. '2024-03-01'") from exc
    e = s + pd.DateOffset(months=int(months))
    d0, d1 = np.datetime64(s.date(), "D"), np.datetime64(e.date(), "D")
    days = np.arange(d0, d1)
    dow = ((days - np.datetime64("1970-01-05", "D")).astype(np.int64)) % 7
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return _Period(d0, d1, len(days), dow, month)


def _sample_hours(rng: np.random.Generator, weekend: np.ndarray, wd: np.ndarray, we: np.ndarray) -> np.ndarray:
    """Seconds after midnight drawn from hourly weight profiles (weekday/weekend)."""
    n = len(weekend)
    out = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    sec = rng.integers(0, 3600, n)
    for mask, prof in ((~weekend, wd), (weekend, we)):
        cdf = np.cumsum(prof) / prof.sum()
        h = np.minimum(np.searchsorted(cdf, u[mask], side="right"), 23)
        out[mask] = h * 3600 + sec[mask]
    return out


def _season(per: _Period, cat: str) -> np.ndarray:
    return _WARMTH[per.month - 1] ** _SEASON_EXP.get(cat, 0.0)


def _draw_background(rng: np.random.Generator, per: _Period, n: int, shares: dict[str, float],
                     dow_w: np.ndarray, day_mask: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Category index and day index of ``n`` events (per-category seasonal day weights)."""
    cats = list(shares)
    pr = np.array([shares[c] for c in cats])
    counts = rng.multinomial(n, pr / pr.sum())
    cat_out, day_out = [], []
    base = dow_w[per.dow] * (day_mask if day_mask is not None else 1.0)
    for c, k in zip(cats, counts, strict=True):
        if k == 0:
            continue
        w = base * _season(per, c)
        day_out.append(rng.choice(per.n_days, size=k, p=w / w.sum()))
        cat_out.append(np.full(k, _CAT_INDEX[c], dtype=np.int16))
    if not cat_out:
        return np.empty(0, np.int16), np.empty(0, np.int64)
    return np.concatenate(cat_out), np.concatenate(day_out)


# --------------------------------------------------------------------------- #
# hotspots and campaign
# --------------------------------------------------------------------------- #
_WINDOWS = {w.name: w for w in DEFAULT_WINDOWS}

# (id, kind, source, categories, window, planted hours, multiplier start/end, where, radius/sigma m, date span)
_HOTSPOT_PLAN: tuple[dict[str, Any], ...] = (
    dict(kind="steady", source="violation", categories={"red_light": .45, "wrong_way": .3, "motor_lane": .25},
         window="morning_peak", hours=(7, 9), mult=(7.0, 7.0), where="intersection", span=(0, 1)),
    dict(kind="steady", source="violation", categories={"red_light": .4, "wrong_way": .35, "motor_lane": .25},
         window="morning_peak", hours=(7, 9), mult=(6.0, 6.0), where="intersection", span=(0, 1)),
    dict(kind="steady", source="violation", categories={"wrong_way": .5, "motor_lane": .3, "red_light": .2},
         window="morning_peak", hours=(7, 9), mult=(7.0, 7.0), where="intersection", span=(0, 1)),
    dict(kind="emerging", source="violation", categories={"red_light": .5, "motor_lane": .5},
         window="evening_peak", hours=(17, 19), mult=(1.0, 8.0), where="intersection", span=(1 / 3, 1)),
    dict(kind="steady", source="patrol", categories={"etricycle": 1.0},
         window="night", hours=(19, 23), mult=(4.0, 4.0), where="alley", span=(0, 1)),
    dict(kind="emerging", source="patrol", categories={"etricycle": .7, "battery_charging": .3},
         window="night", hours=(19, 23), mult=(1.0, 7.0), where="alley", span=(1 / 3, 1)),
    dict(kind="fading", source="patrol", categories={"zombie_vehicle": .6, "debris_pile": .4},
         window="night", hours=(19, 23), mult=(6.0, 1.0), where="branch", span=(0, 2 / 3)),
    dict(kind="steady", source="hotline", categories={"unlicensed_vending": .6, "road_occupation": .4},
         window="day", hours=(9, 18), mult=(5.0, 5.0), where="branch", span=(0, 1)),
    dict(kind="fading", source="hotline", categories={"debris_pile": 1.0},
         window="day", hours=(8, 18), mult=(6.0, 1.0), where="alley", span=(0, 2 / 3)),
    dict(kind="steady", source="snapshot", categories={"garbage": .6, "debris_pile": .4},
         window="all", hours=(8, 21), mult=(5.0, 5.0), where="secondary", span=(0, 1)),
)
_HOT_RADIUS_M = 300.0       # disc footprint of area hotspots
_HOT_NODE_RADIUS_M = 200.0  # intersection hotspots: the crossing and its approaches
_HOT_NODE_SIGMA_M = 20.0    # scatter of the events in the crossing itself
_MIN_SEPARATION_M = 1200.0
_EDGE_MARGIN_M = 500.0


def plan_hotspots(geography: Geography, *, start: str = "2024-03-01", months: int = 6, seed: int = 1
                  ) -> list[dict[str, Any]]:
    """Choose where and when the hotspots are planted (no event counts yet).

    Intersection hotspots go to important crossings (main/secondary roads),
    area hotspots to points on roads of the planned class; all centres are at
    least 1.2 km apart and 500 m inside the area.

    Returns
    -------
    list of dict
        One dict per hotspot: ``id``, ``kind``, ``sources``, ``categories``,
        ``window``, ``hours``, ``days``, ``start``, ``end`` (exclusive),
        ``multiplier_start``, ``multiplier_end``, ``lon``, ``lat`` and, at
        intersections, ``node_id`` and ``intersection_name``.
    """
    p = _prepare(geography)
    per = _period(start, months)
    return _plan_hotspots(p, per, _streams(seed)["plan"])


def _plan_hotspots(p: _Prep, per: _Period, rng: np.random.Generator) -> list[dict[str, Any]]:
    boundary = shapely.boundary(p.area_m)
    chosen: list[tuple[float, float]] = []

    def ok(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        # a small area cannot hold ten centres 1.2 km apart and 500 m inside: relax step by step
        inside = shapely.contains_xy(p.area_m, x, y)
        edge = shapely.distance(boundary, shapely.points(x, y))
        for relax in (1.0, 0.5, 0.25, 0.0):
            good = inside & (edge >= _EDGE_MARGIN_M * max(relax, 0.25))
            for cx, cy in chosen:
                good &= np.hypot(x - cx, y - cy) >= _MIN_SEPARATION_M * relax
            if good.any():
                return good
        return inside

    out = []
    for i, spec in enumerate(_HOTSPOT_PLAN):
        if spec["where"] == "intersection":
            # busy crossings (top decile by road classes): where brigades post staff
            good = ok(p.nx, p.ny) & (p.nweight >= np.quantile(p.nweight, .9))
            # and among those the busiest tenth by expected background (node weights² within the footprint,
            # the same weights the background violations are drawn with)
            pairs = cKDTree(np.column_stack((p.nx, p.ny))).query_pairs(_HOT_NODE_RADIUS_M, output_type="ndarray")
            busy = p.nweight ** _NODE_POWER
            np.add.at(busy, pairs[:, 0], p.nweight[pairs[:, 1]] ** _NODE_POWER)
            np.add.at(busy, pairs[:, 1], p.nweight[pairs[:, 0]] ** _NODE_POWER)
            if good.sum() >= 4:
                good &= busy >= np.quantile(busy[good], .9)
            if not good.any():
                good = ok(p.nx, p.ny)
            cand = np.flatnonzero(good)
            if not len(cand):
                raise SettingsError("no intersection far enough from the area edge for a planted hotspot; "
                                    "the area is too small for the sample")
            k = int(cand[rng.integers(len(cand))])
            x, y = float(p.nx[k]), float(p.ny[k])
            extra = {"node_id": str(p.nid[k]), "intersection_name": str(p.nname[k])}
        else:
            cls = _CLASSES.index(spec["where"])
            mx, my = (p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2
            good = ok(mx, my) & (p.sclass == cls)
            if not good.any():
                good = ok(mx, my)
            # in the busiest tenth of the source's background, so the excess stands out of real noise
            dens = _road_density(p, _CLASS_W[spec["source"]], _HOT_RADIUS_M)
            if good.sum() >= 4:
                good &= dens >= np.quantile(dens[good], .9)
            cand = np.flatnonzero(good)
            if not len(cand):
                raise SettingsError("no road far enough from the area edge for a planted hotspot; "
                                    "the area is too small for the sample")
            k = int(cand[rng.integers(len(cand))])
            x, y = float(mx[k]), float(my[k])
            extra = {"road": str(p.road_names[p.sroad[k]])}
        chosen.append((x, y))
        lon, lat = p.loc.inv(np.array([x]), np.array([y]))
        w = _WINDOWS[spec["window"]]
        d0 = int(round(spec["span"][0] * per.n_days))
        d1 = int(round(spec["span"][1] * per.n_days))
        out.append({
            "id": f"H{i + 1:02d}", "kind": spec["kind"], "sources": [spec["source"]],
            "files": [FILES[spec["source"]]],
            "categories": list(spec["categories"]),
            "category_shares": dict(spec["categories"]),
            "window": w.name, "window_hours": [w.start, w.end], "days": list(w.days),
            "hours": [f"{spec['hours'][0]:02d}:00", f"{spec['hours'][1]:02d}:00"],
            "start": per.date(d0), "end": per.date(d1),
            "multiplier_start": float(spec["mult"][0]), "multiplier_end": float(spec["mult"][1]),
            "multiplier": float(np.mean(spec["mult"])),
            "footprint": "intersection" if spec["where"] == "intersection" else "disc",
            "radius_m": _HOT_NODE_RADIUS_M if spec["where"] == "intersection" else _HOT_RADIUS_M,
            "lon": round(float(lon[0]), 7), "lat": round(float(lat[0]), 7), **extra,
            "_x": x, "_y": y, "_d0": d0, "_d1": d1, "_hours": spec["hours"],
        })
    return out


def _road_density(p: _Prep, class_w: tuple[float, ...], radius_m: float, x: np.ndarray | None = None,
                  y: np.ndarray | None = None, bin_m: float = 50.0) -> np.ndarray:
    """Class-weighted road length within ``radius_m`` of points (default: segment midpoints), on a raster."""
    mx, my = (p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2
    x = mx if x is None else x
    y = my if y is None else y
    pad = radius_m + bin_m
    x0, y0 = min(mx.min(), x.min()) - pad, min(my.min(), y.min()) - pad
    nx = int((max(mx.max(), x.max()) + pad - x0) // bin_m) + 1
    ny = int((max(my.max(), y.max()) + pad - y0) // bin_m) + 1
    grid = np.zeros((nx, ny))
    np.add.at(grid, (((mx - x0) // bin_m).astype(np.int64), ((my - y0) // bin_m).astype(np.int64)),
              p.slen * np.asarray(class_w)[p.sclass])
    r = int(np.ceil(radius_m / bin_m))
    gx, gy = np.mgrid[-r:r + 1, -r:r + 1]
    kernel = ((gx * bin_m) ** 2 + (gy * bin_m) ** 2 <= radius_m ** 2).astype(float)
    # disc sums by FFT convolution (numpy only; scipy.signal takes seconds to import)
    shape = (nx + 2 * r, ny + 2 * r)
    full = np.fft.irfft2(np.fft.rfft2(grid, shape) * np.fft.rfft2(kernel, shape), shape)
    dens = full[r:r + nx, r:r + ny]
    return dens[((x - x0) // bin_m).astype(np.int64), ((y - y0) // bin_m).astype(np.int64)]


def plan_campaign(geography: Geography, hotspots: list[dict[str, Any]], *, start: str = "2024-03-01",
                  months: int = 6, seed: int = 1) -> dict[str, Any]:
    """Choose the middle grids and date of the campaign (40 % drop of all events).

    Grids holding or near a hotspot centre (within 600 m) are excluded; the
    date is the first Monday on or after 55 % of the period.
    """
    p = _prepare(geography)
    per = _period(start, months)
    return _plan_campaign(p, per, hotspots, _streams(seed)["campaign"])


def _plan_campaign(p: _Prep, per: _Period, hotspots: list[dict[str, Any]], rng: np.random.Generator,
                   n_grids: int = 3, effect: float = -0.4) -> dict[str, Any]:
    mid_m = p.loc.geom_fwd(p.middle.geometry.values)
    road_len = np.zeros(len(mid_m))
    seg_mid = _locate(p.middle.geometry.values, *p.loc.inv((p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2),
                      nearest=False)
    np.add.at(road_len, seg_mid[seg_mid >= 0], p.slen[seg_mid >= 0])
    inside = shapely.area(shapely.intersection(mid_m, p.area_m)) >= 0.9 * shapely.area(mid_m)
    dmin = np.full(len(mid_m), np.inf)
    for h in hotspots:
        dmin = np.minimum(dmin, shapely.distance(mid_m, shapely.Point(h["_x"], h["_y"])))
    far = dmin > 600.0
    cand = np.flatnonzero(inside & far & (road_len >= np.median(road_len)))
    if len(cand) < n_grids:
        cand = np.flatnonzero(far & (road_len > 0))
    if len(cand) < n_grids:  # small areas: the grids farthest from any hotspot centre
        roads = np.flatnonzero(road_len > 0)
        cand = roads[np.argsort(-dmin[roads], kind="stable")[:max(n_grids, 2 * n_grids)]]
    if len(cand) < n_grids:
        raise SettingsError(f"the campaign needs {n_grids} official middle grids with roads; "
                            f"the geography has {len(cand)}")
    pick = np.sort(rng.choice(cand, size=n_grids, replace=False))
    day = int(round(0.55 * per.n_days))
    day += int((7 - per.dow[min(day, per.n_days - 1)]) % 7)
    day = min(day, per.n_days - 1)
    return {
        "grid_ids": [str(g) for g in p.middle["grid_id"].to_numpy()[pick]],
        "tier": "middle", "date": per.date(day), "effect": effect,
        "sources": ["patrol", "hotline", "violation", "snapshot"],
        "note": "background events of every source inside these grids are thinned to "
                f"{1 + effect:.0%} from the date on (planted hotspots are elsewhere)",
        "_idx": pick, "_day": day,
    }


def _campaign_mask(p: _Prep, camp: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    geom = shapely.union_all(p.loc.geom_fwd(p.middle.geometry.values[camp["_idx"]]))
    x0, y0, x1, y1 = shapely.bounds(geom)
    m = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    idx = np.flatnonzero(m)
    m[idx] = shapely.contains_xy(geom, x[idx], y[idx])
    return m


# --------------------------------------------------------------------------- #
# events
# --------------------------------------------------------------------------- #
def _empty_core() -> dict[str, np.ndarray]:
    return {"t": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0), "cat": np.empty(0, np.int16),
            "seg": np.empty(0, np.int64), "node": np.empty(0, np.int64), "mode": np.empty(0, np.int8),
            "hot": np.empty(0, np.int16)}


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    parts = [q for q in parts if len(q["t"])]
    if not parts:
        return _empty_core()
    return {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}


def _take(a: dict[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in a.items()}


def _core(t: np.ndarray, x: np.ndarray, y: np.ndarray, cat: np.ndarray, seg: np.ndarray | None = None,
          node: np.ndarray | None = None, mode: int | np.ndarray = 0, hot: int = -1) -> dict[str, np.ndarray]:
    n = len(t)
    return {"t": t.astype(np.int64), "x": x, "y": y, "cat": cat.astype(np.int16),
            "seg": seg.astype(np.int64) if seg is not None else np.full(n, -1, np.int64),
            "node": node.astype(np.int64) if node is not None else np.full(n, -1, np.int64),
            "mode": np.broadcast_to(np.asarray(mode, np.int8), (n,)).copy(),
            "hot": np.full(n, hot, np.int16)}


def _n(source: str, per: _Period, scale: float) -> int:
    return int(round(BASE_COUNTS[source] * scale * per.n_days / 184.0))


def _background_patrol(p: _Prep, per: _Period, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    parts = []
    n_night, n_week = int(round(.7 * n)), int(round(.2 * n))
    n_month = n - n_night - n_week
    # 每日一巡: every night
    cat, day = _draw_background(rng, per, n_night, _SHARES["patrol_nightly"], _DOW["patrol"])
    sod = _sample_hours(rng, np.zeros(len(day), bool), _H_NIGHTLY, _H_NIGHTLY)
    x, y, seg = _road_points(p, rng, len(day), _CLASS_W["patrol"])
    parts.append(_core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, mode=0))
    # 每周一查: one weekday (Tue–Thu) per week, daytime
    week = np.arange(per.n_days) // 7
    pick_dow = rng.integers(1, 4, week.max() + 1)
    mask = (per.dow == pick_dow[week]).astype(float)
    if mask.sum() == 0:
        mask = (per.dow < 5).astype(float)
    cat, day = _draw_background(rng, per, n_week, _SHARES["patrol_weekly"], _DOW["patrol"], mask)
    sod = _sample_hours(rng, np.zeros(len(day), bool), _H_WEEKLY, _H_WEEKLY)
    x, y, seg = _road_points(p, rng, len(day), _CLASS_W["patrol_weekly"])
    parts.append(_core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, mode=1))
    # 每月一罚: one weekday in the middle of each month, 14:00–17:00
    mon = (per.start + np.arange(per.n_days)).astype("datetime64[M]").astype(np.int64)  # month key
    mkeys = np.unique(mon)
    mask = np.zeros(per.n_days)
    for mk in mkeys:  # loop over months (≤ a few dozen), not rows
        days = np.flatnonzero((mon == mk) & (per.dow < 5))
        if len(days):
            mask[days[min(len(days) - 1, 8 + int(rng.integers(0, 5)))]] = 1.0
    if mask.sum() == 0:
        mask[:] = 1.0
    cat, day = _draw_background(rng, per, n_month, _SHARES["patrol_monthly"], _DOW["patrol"], mask)
    sod = _sample_hours(rng, np.zeros(len(day), bool), _H_MONTHLY, _H_MONTHLY)
    x, y, seg = _road_points(p, rng, len(day), _CLASS_W["patrol"])
    parts.append(_core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, mode=2))
    return _concat(parts)


def _background_simple(p: _Prep, per: _Period, rng: np.random.Generator, n: int, source: str
                       ) -> dict[str, np.ndarray]:
    cat, day = _draw_background(rng, per, n, _SHARES[source], _DOW[source])
    weekend = per.dow[day] >= 5
    if source == "hotline":
        sod = _sample_hours(rng, weekend, _H_HOTLINE_WD, _H_HOTLINE_WE)
        x, y, seg = _road_points(p, rng, n, _CLASS_W["hotline"])
        return _core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg)
    if source == "snapshot":
        sod = _sample_hours(rng, weekend, _H_SNAP_WD, _H_SNAP_WE)
        x, y, seg = _road_points(p, rng, n, _CLASS_W["snapshot"])
        return _core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg)
    # violations: moving offences at intersections with peaks, parking along roads
    parking = cat == _CAT_INDEX["illegal_parking"]
    sod = np.empty(n, np.int64)
    sod[~parking] = _sample_hours(rng, weekend[~parking], _H_VIOL_WD, _H_VIOL_WE)
    sod[parking] = _sample_hours(rng, weekend[parking], _H_PARKING, _H_PARKING)
    x, y = np.empty(n), np.empty(n)
    seg, node = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    at_node = ~parking & (rng.random(n) < .85)
    k = int(at_node.sum())
    # cameras and posts sit at the busy crossings: weight grows with the square of importance
    x[at_node], y[at_node], node[at_node] = _node_points(p, rng, k, node_p=p.nweight ** _NODE_POWER)
    on_road = ~at_node
    x[on_road], y[on_road], seg[on_road] = _road_points(p, rng, int(on_road.sum()), _CLASS_W["violation_road"])
    return _core(per.t0 + day * 86400 + sod, x, y, cat, seg=seg, node=node)


def _window_mask(t: np.ndarray, per: _Period, h: dict[str, Any], hours_only: bool = False) -> np.ndarray:
    """Events inside the hotspot's days, planted hours and date span."""
    day = (t - per.t0) // 86400
    sod = (t - per.t0) % 86400
    h0, h1 = h["_hours"]
    m = (sod >= h0 * 3600) & (sod < h1 * 3600) & (day >= h["_d0"]) & (day < h["_d1"])
    if not hours_only:
        m &= np.isin(per.dow[np.clip(day, 0, per.n_days - 1)], h["days"])
    return m


def _plant(p: _Prep, per: _Period, rng: np.random.Generator, h: dict[str, Any], hi: int,
           bg: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Planted events of one hotspot; records counts and cells in ``h``."""
    from geo.grid.h3cells import cells_for_points, cells_to_hex

    inwin = _window_mask(bg["t"], per, h)
    bx, by = bg["x"][inwin], bg["y"][inwin]
    R = float(h["radius_m"])
    base = float(np.sum(np.hypot(bx - h["_x"], by - h["_y"]) <= R))
    # floor: half the district's mean density over the footprint, so a quiet spot still shows
    floor = 0.5 * inwin.sum() / p.area_km2 * math.pi * R * R / 1e6
    base = max(base, floor, 1.0)
    days = np.arange(h["_d0"], h["_d1"])
    days = days[np.isin(per.dow[days], h["days"])]
    m0, m1 = h["multiplier_start"], h["multiplier_end"]
    frac = (days - h["_d0"] + .5) / max(h["_d1"] - h["_d0"], 1)
    excess = np.maximum(m0 + (m1 - m0) * frac - 1.0, 0.0)
    n = int(round(base * excess.mean())) if len(days) else 0
    h["background_in_window"] = int(round(base))
    h["planted"] = n
    if n == 0:
        h["cells"], h["cell_shares"] = [], []
        return _empty_core()
    day = rng.choice(days, size=n, p=excess / excess.sum())
    h0, h1 = h["_hours"]
    sod = rng.integers(h0 * 3600, h1 * 3600, n)
    cats = list(h["category_shares"])
    pr = np.array([h["category_shares"][c] for c in cats])
    cat = np.array([_CAT_INDEX[c] for c in cats], np.int16)[rng.choice(len(cats), size=n, p=pr / pr.sum())]
    at_node = np.zeros(n, bool)
    if h["footprint"] == "intersection":  # half in the crossing itself, half on its approaches
        at_node[: n // 2] = True
        class_w = _CLASS_W["violation_road"]
    else:
        class_w = (1.0, 1.0, 1.0, 1.0)
    k_road = int((~at_node).sum())
    mx, my = (p.sx0 + p.sx1) / 2, (p.sy0 + p.sy1) / 2
    segmask = np.hypot(mx - h["_x"], my - h["_y"]) <= R + 100
    xs, ys, ss = [], [], []
    got = 0
    for _ in range(50):  # rejection sampling to the disc; a few rounds
        if got >= k_road:
            break
        x_, y_, s_ = _road_points(p, rng, max(2 * (k_road - got), 16), class_w, segmask)
        keep = np.hypot(x_ - h["_x"], y_ - h["_y"]) <= R
        xs.append(x_[keep]), ys.append(y_[keep]), ss.append(s_[keep])
        got += int(keep.sum())
    xr = np.concatenate(xs)[:k_road] if xs else np.empty(0)
    yr = np.concatenate(ys)[:k_road] if ys else np.empty(0)
    sr = np.concatenate(ss)[:k_road] if ss else np.empty(0, np.int64)
    if len(xr) < k_road:  # pathological geometry: scatter round the centre
        k = k_road - len(xr)
        xr = np.r_[xr, h["_x"] + rng.normal(0, R / 2, k)]
        yr = np.r_[yr, h["_y"] + rng.normal(0, R / 2, k)]
        sr = np.r_[sr, _nearest_seg(p, xr[-k:], yr[-k:])]
    x, y = np.empty(n), np.empty(n)
    seg, node = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    x[~at_node], y[~at_node], seg[~at_node] = xr, yr, sr
    k_node = int(at_node.sum())
    if k_node:
        x[at_node] = h["_x"] + rng.normal(0, _HOT_NODE_SIGMA_M, k_node)
        y[at_node] = h["_y"] + rng.normal(0, _HOT_NODE_SIGMA_M, k_node)
        node[at_node] = int(np.flatnonzero(p.nid == h["node_id"])[0])
    cells = cells_for_points(*p.loc.inv(x, y), 9)
    uniq, cnt = np.unique(cells, return_counts=True)
    order = np.argsort(-cnt, kind="stable")
    uniq, cnt = uniq[order], cnt[order]
    share = cnt / cnt.sum()
    keep = share >= 0.05
    h["cells"] = [str(c) for c in cells_to_hex(uniq[keep])]
    h["cell_shares"] = [round(float(s), 3) for s in share[keep]]
    order = rng.permutation(n)  # no link between the day drawn and the place
    return _core(per.t0 + day * 86400 + sod, x[order], y[order], cat, seg=seg[order], node=node[order],
                 mode=0, hot=hi)


# --------------------------------------------------------------------------- #
# gazetteer
# --------------------------------------------------------------------------- #
def build_gazetteer(geography: Geography, *, seed: int = 1, spacing_m: tuple[float, float] = (30.0, 60.0),
                    setback_m: float = 12.0) -> pd.DataFrame:
    """The standard-address gazetteer (标准地址库) of the named roads.

    House numbers run along each named road from the end nearer the city
    centre (Tiananmen), odd numbers on the left, even on the right, one every
    ``spacing_m`` metres, each ``setback_m`` from the centre line.

    Returns
    -------
    pandas.DataFrame
        The contract columns (地址编码 … 社区, coordinates as floats) plus
        ``number`` (int) and ``x``/``y`` (local metres, internal).
    """
    return _gazetteer(_prepare(geography), _streams(seed)["gaz"],
                      spacing_m, setback_m)


def _gazetteer(p: _Prep, rng: np.random.Generator, spacing_m: tuple[float, float] = (30.0, 60.0),
               setback_m: float = 12.0) -> pd.DataFrame:
    geo = p.geo
    roads = geo.roads
    names = roads["name"].fillna("").astype(str).to_numpy() if "name" in roads.columns else \
        np.full(len(roads), "")
    lines_m = p.loc.geom_fwd(roads.geometry.values)
    ref = np.array(p.loc.fwd(116.3975, 39.9087))  # Tiananmen: numbering starts at the nearer end
    rows_x, rows_y, rows_road, rows_no = [], [], [], []
    for name in sorted(set(names) - {""}):  # loop over road names (hundreds), vectorised along each
        merged = shapely.line_merge(shapely.union_all(lines_m[names == name]))
        parts = list(shapely.get_parts(merged))
        parts = [shapely.reverse(g) if np.hypot(*(np.array(g.coords[0]) - ref)) >
                 np.hypot(*(np.array(g.coords[-1]) - ref)) else g for g in parts]
        parts.sort(key=lambda g: float(np.hypot(*(np.array(g.coords[0]) - ref))))
        nos = [1, 2]
        for g in parts:
            L = g.length
            for side, sign in ((0, 1.0), (1, -1.0)):
                k = int(L / spacing_m[0]) + 2
                pos = rng.uniform(8, 25) + np.cumsum(np.r_[0, rng.uniform(*spacing_m, k)])
                pos = pos[pos < L - 5]
                if not len(pos):
                    continue
                pa = shapely.get_coordinates(shapely.line_interpolate_point(g, np.maximum(pos - 1, 0)))
                pb = shapely.get_coordinates(shapely.line_interpolate_point(g, np.minimum(pos + 1, L)))
                pt = shapely.get_coordinates(shapely.line_interpolate_point(g, pos))
                d = pb - pa
                d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
                rows_x.append(pt[:, 0] - sign * setback_m * d[:, 1])
                rows_y.append(pt[:, 1] + sign * setback_m * d[:, 0])
                rows_road.append(np.full(len(pos), name, dtype=object))
                rows_no.append(nos[side] + 2 * np.arange(len(pos)))
                nos[side] += 2 * len(pos)
    if not rows_x:
        raise SettingsError("roads have no names: the gazetteer needs named roads (column 'name')")
    x, y = np.concatenate(rows_x), np.concatenate(rows_y)
    road = np.concatenate(rows_road)
    no = np.concatenate(rows_no).astype(np.int64)
    inside = shapely.contains_xy(p.area_m, x, y)
    x, y, road, no = x[inside], y[inside], road[inside], no[inside]
    lon, lat = p.loc.inv(x, y)
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    sm = _locate(p.small.geometry.values, lon, lat)
    order = np.lexsort((no, road))
    x, y, road, no, lon, lat, sm = (a[order] for a in (x, y, road, no, lon, lat, sm))
    street_code = p.small_street_code[sm]
    seq = _group_seq(street_code)
    df = pd.DataFrame({
        "地址编码": [f"{s}{q:06d}" for s, q in zip(street_code, seq, strict=True)],
        "标准地址": road + pd.Series(no).astype(str).to_numpy(dtype=object) + "号",
        "道路": road,
        "门牌号": pd.Series(no).astype(str).to_numpy(dtype=object) + "号",
        "经度": lon, "纬度": lat,
        "街道": p.small_street[sm], "社区": p.small_community[sm],
        "number": no, "x": x, "y": y,
    })
    return df


def _group_seq(keys: np.ndarray) -> np.ndarray:
    """1-based running number of each row within its key (rows in their current order)."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    start = np.r_[True, k[1:] != k[:-1]]
    grp_start = np.maximum.accumulate(np.where(start, np.arange(len(k)), 0))
    seq = np.empty(len(k), np.int64)
    seq[order] = np.arange(len(k)) - grp_start + 1
    return seq


# --------------------------------------------------------------------------- #
# string helpers (vectorised; numpy StringDType-free 'U'/object arrays)
# --------------------------------------------------------------------------- #
# Strings are built as numpy object arrays: elementwise ``+`` on them is a C loop of
# Python string concatenations, several times faster than numpy's fixed-width 'U'
# arrays for these short, mixed-length fields.
_PAD2 = np.array([f"{i:02d}" for i in range(100)], dtype=object)
_NUM = np.array([str(i) for i in range(100)], dtype=object)
_YEAR = np.array([str(y) for y in range(1970, 2200)], dtype=object)


def _obj(a: Any) -> Any:
    if isinstance(a, str):
        return a
    a = np.asarray(a)
    return a if a.dtype == object else a.astype(object)


def _cat(*parts: Any) -> np.ndarray:
    """Elementwise concatenation of string arrays and scalars (object array)."""
    return np.asarray(reduce(operator.add, [_obj(q) for q in parts]), dtype=object)


def _digits(v: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal strings of non-negative integers below 10**width."""
    return np.strings.slice((np.asarray(v, np.int64) + 10 ** width).astype(str), 1, None).astype(object)


def _fixed(v: np.ndarray, nd: int) -> np.ndarray:
    """Fixed-decimal strings of floats ('' for NaN)."""
    v = np.asarray(v, dtype=float)
    out = np.array(list(map(f"{{:.{nd}f}}".format, v.tolist())), dtype=object)
    bad = ~np.isfinite(v)
    if bad.any():
        out[bad] = ""
    return out


@cache
def _tod_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time-of-day strings: every second as HH:MM:SS, every minute as H:MM and H时MM分."""
    iso = np.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)], dtype=object)
    hm = np.array([f"{m // 60}:{m % 60:02d}" for m in range(1440)], dtype=object)
    cn = np.array([f"{m // 60}时{m % 60:02d}分" for m in range(1440)], dtype=object)
    return iso, hm, cn


def _day_strings(day: np.ndarray, form: str) -> np.ndarray:
    """Date strings of day numbers (days since 1970), formatted once per distinct day."""
    u, inv = np.unique(day, return_inverse=True)
    dates = u.astype("datetime64[D]").tolist()
    if form == "iso":
        tab = [f"{d.year}-{d.month:02d}-{d.day:02d}" for d in dates]
    elif form == "slash":
        tab = [f"{d.year}/{d.month}/{d.day}" for d in dates]
    elif form == "chinese":
        tab = [f"{d.year}年{d.month}月{d.day}日" for d in dates]
    else:
        tab = [f"{d.year}{d.month:02d}{d.day:02d}" for d in dates]
    return np.array(tab, dtype=object)[inv.ravel()]


def _time_strings(t: np.ndarray, fmt: np.ndarray) -> np.ndarray:
    """Time strings: fmt 0 ISO ``2024-03-05 08:30:00``, 1 ``2024/3/5 8:30``, 2 ``2024年3月5日 8时30分``."""
    t = np.asarray(t, np.int64)
    fmt = np.asarray(fmt)
    iso_t, hm_t, cn_t = _tod_tables()
    day, sod = t // 86400, t % 86400
    out = np.empty(len(t), dtype=object)
    for code, form, tod, key in ((0, "iso", iso_t, sod), (1, "slash", hm_t, sod // 60),
                                 (2, "chinese", cn_t, sod // 60)):
        m = fmt == code
        if m.any():
            out[m] = _day_strings(day[m], form) + " " + tod[key[m]]
    return out


def _ids(prefix: str, t: np.ndarray, seq: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + YYYYMMDD + zero-padded sequence (wider when a day has more rows)."""
    seq = np.asarray(seq, np.int64)
    if not len(seq):
        return np.empty(0, dtype=object)
    w = max(width, len(str(int(seq.max()))))
    tab = np.array([f"{i:0{w}d}" for i in range(int(seq.max()) + 1)], dtype=object)
    return prefix + _day_strings(np.asarray(t, np.int64) // 86400, "compact") + tab[seq]


def _per_day_seq(t: np.ndarray) -> np.ndarray:
    """1-based sequence of each row within its day (rows sorted by time)."""
    day = t // 86400
    first = np.r_[True, day[1:] != day[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(t)), 0))
    return np.arange(len(t)) - start + 1


def _fullwidth(a: np.ndarray) -> np.ndarray:
    return np.array([str(s).translate(_FULLWIDTH) for s in a], dtype=object)


def _pad_ws(a: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Stray whitespace: trailing space, leading space, ideographic space, or a tab-free double space."""
    a = np.asarray(a, dtype=object)
    forms = (lambda s: s + " ", lambda s: " " + s, lambda s: s + "\u3000", lambda s: " " + s + "  ")
    return np.array([forms[int(v) % 4](str(s)) for s, v in zip(a, var, strict=True)], dtype=object)


def _bad_times(var: np.ndarray, t: np.ndarray) -> np.ndarray:
    D = t.astype("datetime64[s]").astype("datetime64[D]")
    Y = (D.astype("datetime64[Y]").astype(np.int64) + 1970)
    M = D.astype("datetime64[M]").astype(np.int64) % 12 + 1
    out = []
    for v, y, m in zip(var, Y, M, strict=True):
        v = int(v) % 5
        if v == 0:
            out.append(f"{y}-02-30 10:{(m * 7) % 60:02d}:00")
        elif v == 1:
            out.append(f"{y}-{m:02d}-15 25:61:00")
        elif v == 2:
            out.append("未知")
        elif v == 3:
            out.append("")
        else:
            out.append(f"{y}-{m:02d}-32 08:00:00")
    return np.array(out, dtype=object)


def _choose_text(rng: np.random.Generator, cats: np.ndarray, table: dict[str, tuple[str, ...]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Template (pre, post) around a placeholder, per row."""
    flat_pre, flat_post, off, cnt = [], [], [], []
    for c in (*_CATS, "other"):
        tpl = table.get(c) or table.get("other") or ("{x}",)
        off.append(len(flat_pre))
        cnt.append(len(tpl))
        for s in tpl:
            pre, _, post = re.split(r"(\{\w+\})", s, maxsplit=1) if "{" in s else (s, "", "")
            flat_pre.append(pre)
            flat_post.append(post)
    off_a, cnt_a = np.array(off), np.array(cnt)
    var = (rng.random(len(cats)) * cnt_a[cats]).astype(np.int64)
    k = off_a[cats] + var
    return np.array(flat_pre, dtype=object)[k], np.array(flat_post, dtype=object)[k]


def _raw_categories(rng: np.random.Generator, cats: np.ndarray, p_label: float = .7) -> np.ndarray:
    u = rng.random(len(cats))
    syn = 1 + (rng.random(len(cats)) * np.maximum(_RAW_COUNT[cats] - 1, 1)).astype(np.int64)
    syn = np.minimum(syn, _RAW_COUNT[cats] - 1)
    var = np.where(u < p_label, 0, syn)
    return _RAW_LABELS[_RAW_OFFSET[cats] + var]


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fake, pattern-valid mobile numbers 1[3-9]XXXXXXXXX as int64 (format with ``.astype(str)``)."""
    return 10 ** 10 + rng.integers(3, 10, n) * 10 ** 9 + rng.integers(0, 10 ** 9, n)


def _id_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fake but checksum-valid 18-character ID numbers."""
    if n == 0:
        return np.empty(0, dtype=object)
    region = _ID_REGIONS[rng.integers(0, len(_ID_REGIONS), n)]
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 50, n).astype("timedelta64[D]")
    ymd = np.strings.replace(birth.astype(str), "-", "").astype(object)
    body = _cat(region, ymd, _digits(rng.integers(0, 1000, n), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17).astype(np.int64) - 48
    return _cat(body, _ID_CHECK[(digits @ _ID_WEIGHTS) % 11])


def _plates(rng: np.random.Generator, veh: np.ndarray) -> np.ndarray:
    """Fake plates: 京A12345-like (cars, e-bikes), 京AD12345 (new energy), some 冀B/津C; many e-trikes have none."""
    n = len(veh)
    u = rng.random(n)
    letters = _PLATE_LETTERS[rng.integers(0, len(_PLATE_LETTERS), n)]
    chars = [_PLATE_CHARS[rng.integers(0, len(_PLATE_CHARS), n)] for _ in range(5)]
    digits5 = _digits(rng.integers(0, 10 ** 5, n), 5)
    prov = np.where(u < .88, "京", np.where(u < .95, "冀", "津")).astype(object)
    city = np.where(prov == "京", letters, np.where(prov == "冀", "B", "C")).astype(object)
    normal = _cat(prov, city, chars[0], chars[1], chars[2], chars[3], chars[4])
    ev = _cat(prov, city, "D", digits5)
    car = np.where(rng.random(n) < .2, ev, normal)
    ebike = _cat("京", letters, digits5)
    has = rng.random(n)
    out = np.where(veh == "小型汽车", car,
                   np.where((veh == "电动自行车") & (has < .5), ebike,
                            np.where(((veh == "电动三轮车") | (veh == "电动四轮车")) & (has < .15), car,
                                     np.where(veh == "摩托车", normal, ""))))
    return out.astype(object)


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    s = np.array(_SURNAMES, dtype=object)[rng.integers(0, len(_SURNAMES), n)]
    g = np.array(_GIVEN, dtype=object)[rng.integers(0, len(_GIVEN), n)]
    return s + g


# --------------------------------------------------------------------------- #
# dirt
# --------------------------------------------------------------------------- #
def _dirt_counts(rates: dict[str, float], n: int) -> dict[str, int]:
    """Rows per dirt kind: rate × n, at least one of each kind once the file is big enough for that
    to stay within ~2.5 % (40 rows per kind); tiny files may lack some kinds."""
    counts = {k: int(round(r * n)) for k, r in rates.items()}
    if n >= 40 * len(rates):
        counts = {k: max(1, v) for k, v in counts.items()}
    return counts


def _near_duplicates(a: dict[str, np.ndarray], rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    """Copies of ``k`` rows ~5 m and 30–90 s away (new ids are given later); marked dirt."""
    n = len(a["t"])
    src = np.sort(rng.choice(n, size=min(k, n), replace=False))
    b = _take(a, src)
    b["t"] = b["t"] + rng.integers(30, 91, len(src))
    ang = rng.uniform(0, 2 * np.pi, len(src))
    r = rng.uniform(3, 7, len(src))
    b["x"] = b["x"] + r * np.cos(ang)
    b["y"] = b["y"] + r * np.sin(ang)
    b["dirt"] = np.full(len(src), _DIRT_CODE["near_duplicate"], np.int8)
    a = dict(a)
    a["dirt"] = np.zeros(n, np.int8)
    out = {kk: np.concatenate([a[kk], b[kk]]) for kk in a}
    order = np.argsort(out["t"], kind="stable")
    return _take(out, order)


def _assign_dirt(a: dict[str, np.ndarray], rng: np.random.Generator, counts: dict[str, int],
                 eligible: dict[str, np.ndarray] | None = None) -> None:
    """Give disjoint clean rows one in-place dirt kind each (``a['dirt']``) and a variant (``a['dvar']``)."""
    n = len(a["t"])
    a["dvar"] = rng.integers(0, 1 << 30, n).astype(np.int64)
    free = a["dirt"] == 0
    for kind in DIRT_KINDS:
        if kind in ("exact_duplicate", "near_duplicate") or kind not in counts:
            continue
        ok = free.copy()
        if eligible and kind in eligible:
            ok &= eligible[kind]
        cand = np.flatnonzero(ok)
        pick = rng.choice(cand, size=min(counts[kind], len(cand)), replace=False) if len(cand) else cand
        a["dirt"][pick] = _DIRT_CODE[kind]
        free[pick] = False


def _exact_duplicates(a: dict[str, np.ndarray], rng: np.random.Generator, k: int) -> dict[str, np.ndarray]:
    clean = np.flatnonzero(a["dirt"] == 0)
    src = np.sort(rng.choice(clean, size=min(k, len(clean)), replace=False))
    order = np.sort(np.concatenate([np.arange(len(a["t"])), src]), kind="stable")
    out = _take(a, order)
    dup = np.r_[False, order[1:] == order[:-1]]
    out["dirt"] = np.where(dup, np.int8(_DIRT_CODE["exact_duplicate"]), out["dirt"])
    return out


def _outside_points(p: _Prep, rng: np.random.Generator, x: np.ndarray, y: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Move points radially beyond the area's farthest vertex plus 1–5 km."""
    cx, cy = p.centroid
    dx, dy = x - cx, y - cy
    r = np.maximum(np.hypot(dx, dy), 1.0)
    R = p.max_radius_m + rng.uniform(1000, 5000, len(x))
    return cx + dx / r * R, cy + dy / r * R


def _dirty_coords(p: _Prep, a: dict[str, np.ndarray], rng: np.random.Generator, crs: str,
                  zero_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Output coordinates in the source CRS with coordinate dirt applied (NaN = empty)."""
    from geo.grid.crs import from_wgs84

    x, y = a["x"].copy(), a["y"].copy()
    out = a["dirt"] == _DIRT_CODE["outside_area"]
    x[out], y[out] = _outside_points(p, rng, x[out], y[out])
    lon, lat = p.loc.inv(x, y)
    if crs != "CGCS2000":  # CGCS2000 = WGS84 to the cm: the numbers are written as they are
        lon, lat = from_wgs84(lon, lat, crs)
    lon, lat = np.asarray(lon, float).copy(), np.asarray(lat, float).copy()
    sw = a["dirt"] == _DIRT_CODE["swapped_latlon"]
    lon[sw], lat[sw] = lat[sw].copy(), lon[sw].copy()
    miss = a["dirt"] == _DIRT_CODE["missing_coords"]
    zero = miss & ((a["dvar"] % 2 == 0) | zero_only)
    lon[zero], lat[zero] = 0.0, 0.0
    lon[miss & ~zero], lat[miss & ~zero] = np.nan, np.nan
    return lon, lat


def _dirt_summary(a: dict[str, np.ndarray]) -> dict[str, int]:
    codes, cnt = np.unique(a["dirt"][a["dirt"] > 0], return_counts=True)
    inv = {v: k for k, v in _DIRT_CODE.items()}
    return {inv[int(c)]: int(k) for c, k in zip(codes, cnt, strict=True)}


# --------------------------------------------------------------------------- #
# per-source tables
# --------------------------------------------------------------------------- #
@dataclass
class _Table:
    source: str
    a: dict[str, np.ndarray]
    fmt: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.a["t"])

    def chunks(self, size: int = _CHUNK) -> Iterator[dict[str, np.ndarray]]:
        for i in range(0, len(self), size):
            yield self.fmt({k: v[i:i + size] for k, v in self.a.items()})


def _finish_common(a: dict[str, np.ndarray], rng: np.random.Generator, source: str, p: _Prep,
                   crs: str, eligible: dict[str, np.ndarray] | None = None,
                   zero_only: bool = False, decorate: Callable[[dict[str, np.ndarray]], None] | None = None
                   ) -> dict[str, np.ndarray]:
    """Near duplicates, ids, in-place dirt, exact duplicates and output coordinates."""
    counts = _dirt_counts(_DIRT_RATES[source], len(a["t"]))
    if decorate is not None:
        decorate(a)
    a = _near_duplicates(a, rng, counts["near_duplicate"])
    if eligible is not None:
        eligible = {k: v(a) for k, v in eligible.items()}  # type: ignore[operator]
    a["seq"] = _per_day_seq(a["t"])
    _assign_dirt(a, rng, counts, eligible)
    a["olon"], a["olat"] = _dirty_coords(p, a, rng, crs, zero_only)
    a = _exact_duplicates(a, rng, counts["exact_duplicate"])
    return a


def _patrol_table(p: _Prep, per: _Period, rng: np.random.Generator, ev: dict[str, np.ndarray]) -> _Table:
    n_big = len(p.big_ids)
    teams = _names(rng, n_big * 4).reshape(n_big, 4)
    staff_labels = np.column_stack([teams[:, 0] + "、" + teams[:, 1], teams[:, 2] + "、" + teams[:, 3],
                                    teams[:, 2], teams[:, 3], "联合执法组（" + teams[:, 0] + "）"]).ravel()

    def decorate(a: dict[str, np.ndarray]) -> None:
        n = len(a["t"])
        cats = a["cat"].astype(np.int64)
        a["rawcat"] = _raw_categories(rng, cats)
        pre, post = _choose_text(rng, cats, _PATROL_TEXT)
        a["pre"], a["post"] = pre, post
        # action: mild for daily/weekly, harsh for the monthly joint enforcement
        act = np.empty(n, dtype=object)
        for ci, code in enumerate(_CATS):
            m = cats == ci
            if not m.any():
                continue
            acts = np.array(_ACTIONS.get(code, ("教育",)), dtype=object)
            w = 0.45 ** np.arange(len(acts))
            for mode_val, ww in ((0, w), (1, w), (2, w[::-1])):
                mm = m & (a["mode"] == mode_val)
                if mm.any():
                    act[mm] = acts[rng.choice(len(acts), size=int(mm.sum()), p=ww / ww.sum())]
        a["action"] = act
        a["status"] = rng.choice(3, size=n, p=[.86, .09, .05]).astype(np.int8)
        big = p.sbig[np.maximum(a["seg"], 0)]
        day = (a["t"] - per.t0) // 86400
        # label k of big grid b is staff_labels[5 * b + k]: two nightly pairs, two weekly checkers, the monthly lead
        k = np.where(a["mode"] == 0, (day + big) % 2, np.where(a["mode"] == 1, 2 + day % 2, 4))
        a["staff"] = (5 * big + k).astype(np.int32)
        a["tfmt"] = rng.choice(3, size=n, p=[.8, .15, .05]).astype(np.int8)

    a = _finish_common(ev, rng, "patrol", p, "WGS84", decorate=decorate)
    unknown = np.array(_UNKNOWN_CATEGORIES["patrol"], dtype=object)

    def fmt(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        d = c["dirt"]
        tstr = _time_strings(c["t"], c["tfmt"])
        lon, lat = _fixed(c["olon"], 6).astype(object), _fixed(c["olat"], 6).astype(object)
        cat = c["rawcat"].copy()
        road = p.road_names[p.sroad[np.maximum(c["seg"], 0)]]
        desc = c["pre"] + road + c["post"]
        _string_dirt(c, tstr, cat, lon, unknown)
        return {"记录编号": _ids("XJ", c["t"], c["seq"], 5), "巡查时间": tstr, "经度": lon, "纬度": lat,
                "问题类型": cat, "问题描述": desc, "处置措施": c["action"],
                "处置状态": _PATROL_STATUS[c["status"]], "巡查人员": staff_labels[c["staff"]],
                "巡查方式": _PATROL_MODES[c["mode"]]} if len(d) else {h: np.empty(0, object)
                                                                 for h in HEADERS["patrol"]}

    return _Table("patrol", a, fmt)


def _string_dirt(c: dict[str, np.ndarray], tstr: np.ndarray, cat: np.ndarray, num: np.ndarray | None,
                 unknown: np.ndarray) -> None:
    """Apply time/category/whitespace/full-width dirt in place to one chunk's strings.

    Whitespace goes to the time, the category or the longitude; full-width
    digits to the time or the longitude.  An empty longitude (address-only
    rows) sends the defect to the time instead, so every counted defect shows.
    """
    d, v = c["dirt"], c["dvar"]
    m = d == _DIRT_CODE["bad_time"]
    if m.any():
        tstr[m] = _bad_times(v[m], c["t"][m])
    m = d == _DIRT_CODE["unknown_category"]
    if m.any():
        cat[m] = unknown[v[m] % len(unknown)]
    has_num = np.zeros(len(d), bool) if num is None else np.array([x != "" for x in num], dtype=bool)
    for kind, n_targets in (("whitespace", 3), ("fullwidth_digits", 2)):
        m = d == _DIRT_CODE[kind]
        if not m.any():
            continue
        which = (v // 7) % n_targets
        if kind == "fullwidth_digits":
            which = np.where(which == 1, 2, 0)  # time or longitude
        which = np.where((which == 2) & ~has_num, 0, which)
        for col, k in ((tstr, 0), (cat, 1), (num, 2)):
            mm = m & (which == k)
            if col is None or not mm.any():
                continue
            col[mm] = _pad_ws(col[mm], v[mm]) if kind == "whitespace" else _fullwidth(col[mm])


def _hotline_table(p: _Prep, per: _Period, rng: np.random.Generator, ev: dict[str, np.ndarray],
                   gaz: pd.DataFrame) -> _Table:
    tree = cKDTree(np.column_stack((gaz["x"].to_numpy(), gaz["y"].to_numpy())))
    g_addr = gaz["标准地址"].to_numpy(dtype=object)
    g_road = gaz["道路"].to_numpy(dtype=object)
    g_no = gaz["number"].to_numpy()
    g_street = gaz["街道"].to_numpy(dtype=object)
    max_no = pd.Series(g_no).groupby(g_road).max()
    end_s = per.t0 + per.n_days * 86400
    prefix = p.geo.city_name + p.geo.district_name

    def decorate(a: dict[str, np.ndarray]) -> None:
        n = len(a["t"])
        cats = a["cat"].astype(np.int64)
        a["rawcat"] = _raw_categories(rng, cats, .75)
        a["addr_i"] = tree.query(np.column_stack((a["x"], a["y"])))[1].astype(np.int64)
        a["has_xy"] = rng.random(n) < .6
        # rows without coordinates are located at their address
        a["x"] = np.where(a["has_xy"], a["x"], gaz["x"].to_numpy()[a["addr_i"]])
        a["y"] = np.where(a["has_xy"], a["y"], gaz["y"].to_numpy()[a["addr_i"]])
        # address variant: 0 standard, 1 city+district prefix, 2 district prefix, 3 号院, 4 full-width,
        # 5 street-office prefix, 6 typo
        u = rng.random(n)
        var_xy = np.searchsorted(np.cumsum([.8, .15, .05]), u, side="right")
        var_no = np.searchsorted(np.cumsum([.55, .12, .06, .1, .05, .05, .07]), u, side="right")
        a["avar"] = np.minimum(np.where(a["has_xy"], var_xy, var_no), 6).astype(np.int8)
        pre, post = _choose_text(rng, cats, _HOTLINE_TEXT)
        a["pre"], a["post"] = pre, post
        pii = rng.random(n)
        a["pii"] = np.where(pii < .03, 1, np.where(pii < .036, 2, 0)).astype(np.int8)
        a["pii_val"] = np.full(n, "", dtype=object)
        a["pii_val"][a["pii"] == 1] = _phones(rng, int((a["pii"] == 1).sum())).astype(str)
        a["pii_val"][a["pii"] == 2] = _id_numbers(rng, int((a["pii"] == 2).sum()))
        a["caller"] = _phones(rng, n)
        dur = np.exp(rng.normal(np.log(30 * 3600), 1.0, n)).astype(np.int64) + 1800
        st = rng.choice(4, size=n, p=[.93, .03, .0, .04]).astype(np.int8)
        late = a["t"] + dur >= end_s
        st[late] = np.where(end_s - a["t"][late] < 86400, 2, 1)
        a["status"] = st
        a["closed"] = np.where(st == 0, a["t"] + dur, -1)
        a["tfmt"] = rng.choice(2, size=n, p=[.9, .1]).astype(np.int8)
        a["typo"] = rng.integers(0, 1 << 30, n)

    def eligible_xy(a: dict[str, np.ndarray]) -> np.ndarray:
        return a["has_xy"]

    def eligible_noxy(a: dict[str, np.ndarray]) -> np.ndarray:
        return ~a["has_xy"]

    eligible = {"missing_coords": eligible_xy, "swapped_latlon": eligible_xy, "outside_area": eligible_xy,
                "address_not_found": eligible_noxy}
    a = _finish_common(ev, rng, "hotline", p, "GCJ02", eligible=eligible, zero_only=True, decorate=decorate)
    a["olon"] = np.where(a["has_xy"], a["olon"], np.nan)
    a["olat"] = np.where(a["has_xy"], a["olat"], np.nan)
    # near duplicates are a second caller: new number (and fresh close-out)
    nd = a["dirt"] == _DIRT_CODE["near_duplicate"]
    a["caller"][nd] = _phones(rng, int(nd.sum()))
    unknown = np.array(_UNKNOWN_CATEGORIES["hotline"], dtype=object)
    addr_counts = {"with_coordinates": int(a["has_xy"].sum()), "address_only": int((~a["has_xy"]).sum())}
    names = ["standard", "city_district_prefix", "district_prefix", "hao_yuan", "fullwidth_digits",
             "street_prefix", "typo"]
    for i, nm in enumerate(names):
        addr_counts[f"address_only_{nm}"] = int(((~a["has_xy"]) & (a["avar"] == i) &
                                                 (a["dirt"] != _DIRT_CODE["address_not_found"])).sum())
    addr_counts["address_only_not_in_gazetteer"] = int((a["dirt"] == _DIRT_CODE["address_not_found"]).sum())
    pii_counts = {"phone_in_text": int((a["pii"] == 1).sum()), "id_number_in_text": int((a["pii"] == 2).sum()),
                  "caller_numbers": int(len(a["t"]))}

    def fmt(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(c["t"])
        tstr = _time_strings(c["t"], c["tfmt"])
        closed = np.full(n, "", dtype=object)
        cm = c["closed"] >= 0
        if cm.any():
            closed[cm] = _time_strings(c["closed"][cm], c["tfmt"][cm])
        lon, lat = _fixed(c["olon"], 6).astype(object), _fixed(c["olat"], 6).astype(object)
        cat = c["rawcat"].copy()
        ai = c["addr_i"]
        addr = g_addr[ai].copy()
        v = c["avar"]
        for k, f in ((1, lambda s: prefix + s), (2, lambda s: p.geo.district_name + s),
                     (3, lambda s: s[:-1] + "号院" if s.endswith("号") else s),
                     (4, lambda s: s.translate(_FULLWIDTH))):
            m = v == k
            if m.any():
                addr[m] = np.array([f(s) for s in addr[m]], dtype=object)
        m = v == 5
        if m.any():
            addr[m] = g_street[ai[m]] + addr[m]
        m = v == 6
        if m.any():
            addr[m] = np.array([_typo(s, int(r)) for s, r in zip(addr[m], c["typo"][m], strict=True)],
                               dtype=object)
        m = c["dirt"] == _DIRT_CODE["address_not_found"]
        if m.any():
            r = c["typo"][m]
            road = g_road[ai[m]]
            fake = np.array(_FAKE_ROADS, dtype=object)[r % len(_FAKE_ROADS)]
            big_no = max_no.reindex(road).to_numpy() + 100 + (r % 300)
            addr[m] = np.where(r % 10 < 7, road + pd.Series(big_no).astype(str).to_numpy(dtype=object) + "号",
                               fake + pd.Series(1 + r % 80).astype(str).to_numpy(dtype=object) + "号")
        text = c["pre"] + addr + c["post"]
        pm = c["pii"] == 1
        text[pm] = text[pm] + "联系电话" + c["pii_val"][pm] + "。"
        pm = c["pii"] == 2
        text[pm] = text[pm] + "来电人身份证号" + c["pii_val"][pm] + "。"
        _string_dirt(c, tstr, cat, lon, unknown)
        return {"工单编号": _ids("GD", c["t"], c["seq"], 5), "受理时间": tstr, "诉求类别": cat, "诉求内容": text,
                "诉求地址": addr, "经度": lon, "纬度": lat, "来电号码": c["caller"].astype(str).astype(object), "办结时间": closed,
                "办理状态": _HOTLINE_STATUS[c["status"]]}

    return _Table("hotline", a, fmt, {"addresses": addr_counts, "pii": pii_counts})


def _typo(s: str, r: int) -> str:
    """One small typo in the road part of an address: a confusable character or a dropped one."""
    pos = [i for i, ch in enumerate(s) if ch in _TYPO_MAP]
    if pos and r % 3:
        i = pos[r % len(pos)]
        return s[:i] + _TYPO_MAP[s[i]] + s[i + 1:]
    i = 1 + r % max(len(s) - 4, 1)
    return s[:i] + s[i + 1:]


def _violation_table(p: _Prep, per: _Period, rng: np.random.Generator, ev: dict[str, np.ndarray],
                     gaz: pd.DataFrame) -> _Table:
    tree = cKDTree(np.column_stack((gaz["x"].to_numpy(), gaz["y"].to_numpy())))
    g_road = gaz["道路"].to_numpy(dtype=object)
    g_no = gaz["门牌号"].to_numpy(dtype=object)

    def decorate(a: dict[str, np.ndarray]) -> None:
        n = len(a["t"])
        park = a["cat"] == _CAT_INDEX["illegal_parking"]
        veh = np.empty(n, dtype=object)
        veh[park] = _VEHICLES[rng.choice(6, size=int(park.sum()), p=_VEH_P_PARKING)]
        veh[~park] = _VEHICLES[rng.choice(6, size=int((~park).sum()), p=_VEH_P_MOVING)]
        hot = a["hot"] >= 0  # planted hotspots: the seeds' e-tricycles
        veh[hot] = _VEHICLES[rng.choice(6, size=int(hot.sum()), p=[.35, .4, .15, .05, .05, 0])]
        a["veh"] = veh
        a["plate"] = _plates(rng, veh)
        a["rawcat"] = _raw_categories(rng, a["cat"].astype(np.int64), .8)
        a["addr_i"] = tree.query(np.column_stack((a["x"], a["y"])))[1].astype(np.int64)
        a["pvar"] = rng.integers(0, 3, n).astype(np.int8)
        a["txt_time"] = rng.random(n) < .03  # a few time cells exported as text

    a = _finish_common(ev, rng, "violation", p, "CGCS2000", decorate=decorate)
    unknown = np.array(_UNKNOWN_CATEGORIES["violation"], dtype=object)

    def fmt(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(c["t"])
        at_node = c["node"] >= 0
        place = np.empty(n, dtype=object)
        place[at_node] = p.nname[c["node"][at_node]]
        r = ~at_node
        ai = c["addr_i"][r]
        place[r] = np.where(c["pvar"][r] == 0, g_road[ai] + "路段", g_road[ai] + g_no[ai] + "前")
        # time cells are real datetimes unless exported as text (a few) or made dirty
        tm = c["txt_time"].copy()
        tstr = _time_strings(c["t"], np.where(tm, c["dvar"] % 2, 0).astype(np.int8))
        t_before = tstr.copy()
        lon_s = _fixed(c["olon"], 7).astype(object)
        lon_before = lon_s.copy()
        cat = c["rawcat"].copy()
        _string_dirt(c, tstr, cat, lon_s, unknown)
        tm |= tstr != t_before
        lon_txt = lon_s != lon_before
        lat_s = _fixed(c["olat"], 7).astype(object)
        ids = _ids(p.geo.district_code, c["t"], c["seq"], 6)
        # cell types: 0 text, 1 number, 2 date (value = the Excel serial), 3 empty
        serial = _fixed(c["t"] / 86400.0 + 25569.0, 10).astype(object)
        return {"违法编号": ids, "违法时间": np.where(tm, tstr, serial), "违法地点": place,
                "经度": lon_s, "纬度": lat_s, "违法行为": cat, "车辆类型": c["veh"], "号牌号码": c["plate"],
                "_iso": np.where(tm, tstr, _time_strings(c["t"], np.zeros(n, np.int8))),
                "_type_违法时间": np.where(tm, 0, 2).astype(np.int8),
                "_type_经度": np.where(lon_s == "", 3, np.where(lon_txt, 0, 1)).astype(np.int8),
                "_type_纬度": np.where(lat_s == "", 3, 1).astype(np.int8)}

    return _Table("violation", a, fmt)


def _snapshot_table(p: _Prep, per: _Period, rng: np.random.Generator, ev: dict[str, np.ndarray]) -> _Table:
    def decorate(a: dict[str, np.ndarray]) -> None:
        n = len(a["t"])
        cats = a["cat"].astype(np.int64)
        a["rawcat"] = _raw_categories(rng, cats, .75)
        a["pre"], a["post"] = _choose_text(rng, cats, _SNAP_TEXT)
        a["status"] = rng.choice(3, size=n, p=[.8, .12, .08]).astype(np.int8)
        a["tfmt"] = rng.choice(2, size=n, p=[.93, .07]).astype(np.int8)

    a = _finish_common(ev, rng, "snapshot", p, "BD09", decorate=decorate)
    unknown = np.array(_UNKNOWN_CATEGORIES["snapshot"], dtype=object)

    def fmt(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tstr = _time_strings(c["t"], c["tfmt"])
        cat = c["rawcat"].copy()
        road = p.road_names[p.sroad[np.maximum(c["seg"], 0)]]
        _string_dirt(c, tstr, cat, None, unknown)
        return {"上报编号": _ids("SSP", c["t"], c["seq"], 5), "上报时间": tstr, "问题类别": cat,
                "问题描述": c["pre"] + road + c["post"], "处理状态": _SNAP_STATUS[c["status"]],
                "_lon": _fixed(c["olon"], 6), "_lat": _fixed(c["olat"], 6)}

    return _Table("snapshot", a, fmt)


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

    tables: dict[str, _Table]
    gazetteer: pd.DataFrame
    truth: dict[str, Any]
    categories: tuple[str, ...] = _CATS

    def events(self, source: str) -> pd.DataFrame:
        """Truth of each row of ``source`` as a DataFrame (time, WGS84 point, category code, hotspot, dirt)."""
        t = self.tables[source]
        a = t.a
        return pd.DataFrame({
            "time": a["t"].astype("datetime64[s]"), "lon": a["lon"], "lat": a["lat"],
            "category": np.array(_CATS, dtype=object)[a["cat"]], "hotspot": a["hot"],
            "dirt": np.array(("",) + DIRT_KINDS, dtype=object)[a["dirt"]],
        })


def _check_args(seed: int, months: int, scale: float, start: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SettingsError(f"seed must be a non-negative integer, got {seed!r}")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or not 1 <= months <= 120:
        raise SettingsError(f"months must be an integer 1–120, got {months!r}")
    if not isinstance(scale, (int, float, np.floating)) or not (0 < float(scale) <= 1000):
        raise SettingsError(f"scale must be a number in (0, 1000], got {scale!r}")
    _period(start, int(months))  # a bad start date fails here, before any work


def simulate(geography: Geography | None = None, *, seed: int = 1, months: int = 6, scale: float = 1.0,
             start: str = "2024-03-01") -> Simulation:
    """Generate all events, dirt and truth without writing files.

    Parameters are those of :func:`write_sample`.  Holds every table in memory;
    :func:`write_sample` streams them one source at a time instead.
    """
    tables: dict[str, _Table] = {}
    gaz = pd.DataFrame()
    truth: dict[str, Any] = {}
    for name, obj in _generate(geography, seed=seed, months=months, scale=scale, start=start):
        if name == "gazetteer":
            gaz = obj
        elif name == "truth":
            truth = obj
        else:
            tables[name] = obj
    return Simulation(tables=tables, gazetteer=gaz, truth=truth)


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent random streams of one sample (the same seed gives the same streams)."""
    names = ("plan", "campaign", "gaz", "patrol", "hotline", "violation", "snapshot", "plant", "tables")
    children = np.random.SeedSequence(int(seed)).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def _generate(geography: Geography | None, *, seed: int, months: int, scale: float, start: str
              ) -> Iterator[tuple[str, Any]]:
    """Yield ("gazetteer", DataFrame), then (source, _Table) per source, then ("truth", dict)."""
    _check_args(seed, months, scale, start)
    geo = geography if geography is not None else load_sample_geography()
    p = _prepare(geo)
    per = _period(start, months)
    streams = _streams(seed)
    hotspots = _plan_hotspots(p, per, streams["plan"])
    camp = _plan_campaign(p, per, hotspots, streams["campaign"])
    gaz = _gazetteer(p, streams["gaz"])
    truth: dict[str, Any] = {
        "schema_version": 1,
        "generator": "geo.synthetic.sample",
        "seed": int(seed), "months": int(months), "scale": float(scale),
        "start": per.date(0), "end": str(per.end), "end_exclusive": True,
        "area": {"name": geo.district_name, "code": geo.district_code, "area_km2": round(p.area_km2, 3)},
        "crs": {FILES[s]: SOURCE_CRS[s] for s in SOURCE_CRS} | {FILES["addresses"]: "WGS84"},
        "categories": list(_CATS),
        "background_events": {},
        "hotspots": [],
        "hotspot_notes": "multiplier = (background + planted) / background, where background counts the source's "
                         "events of all categories in the hotspot's window days, planted hours and dates within "
                         "radius_m of the centre (intersections: 200 m, half the planted events in the crossing, "
                         f"half on its approaches; others: a {_HOT_RADIUS_M:.0f} m disc along the roads). "
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
        n = _n(source, per, float(scale))
        bg = _background_patrol(p, per, rng, n) if source == "patrol" else \
            _background_simple(p, per, rng, n, source)
        # campaign: 40 % of later background events inside the campaign grids never happen
        inside = _campaign_mask(p, camp, bg["x"], bg["y"])
        drop = inside & (bg["t"] >= camp_t) & (rng.random(len(bg["t"])) < -camp["effect"])
        bg = _take(bg, np.flatnonzero(~drop))
        truth["background_events"][source] = len(bg["t"])
        parts = [bg]
        for hi, h in enumerate(hotspots):
            if source in h["sources"]:
                parts.append(_plant(p, per, streams["plant"], h, hi, bg))
        ev = _concat(parts)
        del bg, parts
        ev = _take(ev, np.argsort(ev["t"], kind="stable"))
        if source == "patrol":
            tab = _patrol_table(p, per, rng, ev)
        elif source == "hotline":
            tab = _hotline_table(p, per, rng, ev, gaz)
        elif source == "violation":
            tab = _violation_table(p, per, rng, ev, gaz)
        else:
            tab = _snapshot_table(p, per, rng, ev)
        del ev
        a = tab.a
        a["lon"], a["lat"] = p.loc.inv(a["x"], a["y"])
        clean = a["dirt"] == 0
        inside = _campaign_mask(p, camp, a["x"], a["y"]) & clean
        day = (a["t"] - per.t0) // 86400
        campaign_counts[source] = {
            "campaign_before": int((inside & (day < cut_day)).sum()),
            "campaign_after": int((inside & (day >= cut_day)).sum()),
            "rest_before": int((~inside & clean & (day < cut_day)).sum()),
            "rest_after": int((~inside & clean & (day >= cut_day)).sum()),
        }
        fname = FILES[source]
        truth["dirt"][fname] = _dirt_summary(a)
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


# --------------------------------------------------------------------------- #
# writers
# --------------------------------------------------------------------------- #
def _csv_column(col: np.ndarray) -> list[str]:
    """A column as a list of CSV fields (quoted only where needed, as csv.QUOTE_MINIMAL does)."""
    vals = [str(v) for v in col] if np.asarray(col).dtype != object else list(col)
    probe = "\x00".join(vals)  # one C-level scan instead of a test per field
    if "," in probe or '"' in probe or "\n" in probe:
        vals = ['"' + v.replace('"', '""') + '"' if ("," in v or '"' in v or "\n" in v) else v for v in vals]
    return vals


def _write_csv(path: Path, header: tuple[str, ...], chunks: Iterator[dict[str, np.ndarray]],
               encoding: str) -> int:
    """Write chunks of string columns; ``encoding`` is strict (a character GBK lacks raises)."""
    rows = 0
    with open(path, "wb") as fh:
        fh.write((",".join(header) + "\n").encode(encoding))
        for c in chunks:
            cols = [_csv_column(c[h]) for h in header]
            if not cols[0]:
                continue
            fh.write(("\n".join(map(",".join, zip(*cols, strict=True))) + "\n").encode(encoding))
            rows += len(cols[0])
    return rows


def _write_geojson(path: Path, tab: _Table) -> int:
    rows = 0
    keys = HEADERS["snapshot"]
    with open(path, "wb") as fh:
        fh.write('{"type":"FeatureCollection","name":"随手拍","coordinate_system":"BD-09",'
                 '"crs_note":"coordinates are BD-09 (Baidu), not WGS84","features":[\n'.encode())
        first = True
        for c in tab.chunks():
            n = len(c["上报编号"])
            if not n:
                continue
            for k in keys:  # our texts never need JSON escaping; make sure
                probe = "".join(c[k].tolist())
                if '"' in probe or "\\" in probe or any(ord(ch) < 32 for ch in set(probe)):
                    raise AssertionError(f"unexpected JSON-special character in {k}")
            lon, lat = c["_lon"], c["_lat"]
            geom = np.where(lon == "", "null", _cat('{"type":"Point","coordinates":[', lon, ",", lat, "]}"))
            feat = _cat('{"type":"Feature","geometry":', geom, ',"properties":{"上报编号":"', c["上报编号"],
                        '","上报时间":"', c["上报时间"], '","问题类别":"', c["问题类别"], '","问题描述":"',
                        c["问题描述"], '","处理状态":"', c["处理状态"], '"}}')
            fh.write((("" if first else ",\n") + ",\n".join(feat.tolist())).encode())
            first = False
            rows += n
        fh.write(b"\n]}\n")
    return rows


_XLSX_PARTS_STATIC = {
    "[Content_Types].xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/worksheets/sheet2.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        '</Types>',
    "_rels/.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
        'core-properties" Target="docProps/core.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'extended-properties" Target="docProps/app.xml"/>'
        '</Relationships>',
    "docProps/app.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        '<Application>gridwatch</Application></Properties>',
    "docProps/core.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<dc:creator>gridwatch sample</dc:creator><dc:title>交通违法记录（样例）</dc:title>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{_FIXED_DOC_TIME}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_FIXED_DOC_TIME}</dcterms:modified>'
        '</cp:coreProperties>',
    "xl/workbook.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="违法记录" sheetId="1" r:id="rId1"/><sheet name="说明" sheetId="2" r:id="rId2"/>'
        '</sheets></workbook>',
    "xl/_rels/workbook.xml.rels":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet2.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'styles" Target="styles.xml"/>'
        '</Relationships>',
    "xl/styles.xml":
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>',
}
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"
XLSX_MAX_ROWS = 1_048_575
"""Data rows an Excel sheet can hold (1,048,576 minus the header)."""


def _xml_escape(a: np.ndarray) -> np.ndarray:
    a = _obj(a)
    probe = "".join(a.tolist())
    if "&" in probe or "<" in probe or ">" in probe:
        a = np.array([v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for v in a], dtype=object)
    return a


def _xlsx_rows(first_row: int, cols: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """SpreadsheetML <row> elements; each column is (values, types: 0 text, 1 number, 2 date, 3 empty)."""
    n = len(cols[0][0])
    rnum = np.arange(first_row, first_row + n).astype(str).astype(object)
    parts = [_cat('<row r="', rnum, '">')]
    for j, (vals, types) in enumerate(cols):
        ref = chr(65 + j) + rnum
        v = _xml_escape(vals)
        cell = np.full(n, "", dtype=object)
        for code, pre, mid in ((0, '" t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>"),
                               (1, '"><v>', "</v></c>"), (2, '" s="1"><v>', "</v></c>")):
            m = types == code
            if m.any():
                cell[m] = _cat('<c r="', ref[m], pre, v[m], mid)
        parts.append(cell)
    parts.append(np.full(n, "</row>", dtype=object))
    return "".join(_cat(*parts).tolist())


def _zip_entry(zout: zipfile.ZipFile, name: str) -> Any:
    zi = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)  # fixed entry times: byte-identical files
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    return zout.open(zi, "w", force_zip64=True)


def _write_xlsx(path: Path, tab: _Table, per_note: str) -> int:
    """Write the violations workbook (sheet 违法记录 + 说明) directly as SpreadsheetML.

    openpyxl writes ~10 k rows/s and stamps the save time into the file; this
    writer is vectorised and fully deterministic.  Times are real date cells
    (Excel serials with a date format) except the rows exported as text.
    """
    if len(tab) > XLSX_MAX_ROWS:
        raise SettingsError(f"{len(tab)} violation rows do not fit one Excel sheet ({XLSX_MAX_ROWS}); "
                            "use xlsx=False (CSV) or a smaller scale")
    header = list(HEADERS["violation"])
    rows = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zout:
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml",
                     "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"):
            with _zip_entry(zout, name) as fh:
                fh.write(_XLSX_PARTS_STATIC[name].encode())
        with _zip_entry(zout, "xl/worksheets/sheet1.xml") as fh:
            fh.write(_SHEET_HEAD.encode())
            hdr = [(np.array([h]), np.zeros(1, np.int8)) for h in header]
            fh.write(_xlsx_rows(1, hdr).encode())
            for c in tab.chunks():
                n = len(c["违法编号"])
                if not n:
                    continue
                cols = []
                for h in header:
                    types = c.get(f"_type_{h}")
                    if types is None:  # text column: an empty string is an empty cell
                        types = np.where(c[h] == "", 3, 0).astype(np.int8)
                    cols.append((c[h], types))
                fh.write(_xlsx_rows(rows + 2, cols).encode())
                rows += n
            fh.write(_SHEET_TAIL.encode())
        info = (("项目", "内容"), ("坐标系", "CGCS2000"), ("EPSG", "4490"),
                ("数据来源", "交通违法记录导出（样例数据，全部虚构）"), ("时间范围", per_note),
                ("说明", "经纬度为十进制度（CGCS2000 与 WGS84 相差厘米级）；违法时间为北京时间"))
        with _zip_entry(zout, "xl/worksheets/sheet2.xml") as fh:
            cols = [(np.array([r[k] for r in info]), np.zeros(len(info), np.int8)) for k in range(2)]
            fh.write((_SHEET_HEAD + _xlsx_rows(1, cols) + _SHEET_TAIL).encode())
    return rows


def _write_addresses(path: Path, gaz: pd.DataFrame) -> int:
    cols = {h: gaz[h].to_numpy(dtype=object) for h in HEADERS["addresses"]}
    cols["经度"] = _fixed(gaz["经度"].to_numpy(), 6)
    cols["纬度"] = _fixed(gaz["纬度"].to_numpy(), 6)
    return _write_csv(path, HEADERS["addresses"], iter([cols]), "utf-8")


def _period_note(start: str, months: int) -> str:
    per = _period(start, months)
    return f"{per.date(0)} 至 {per.date(per.n_days - 1)}"


def write_sample(out_dir: str | Path, *, seed: int = 1, months: int = 6, scale: float = 1.0,
                 start: str = "2024-03-01", geography: Geography | None = None,
                 xlsx: bool | None = None) -> dict[str, Any]:
    """Write the sample raw exports and ``truth.json`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Created if missing; existing sample files are overwritten.
    seed : int
        Seed of every random draw; the same seed gives byte-identical files.
    months : int
        Length of the period from ``start``.
    scale : float
        Multiplies the event counts (1 ≈ 76 k events for six months).
    start : str
        First day, ``YYYY-MM-DD``.
    geography : Geography, optional
        Reference layers; default :func:`load_sample_geography`.
    xlsx : bool, optional
        Write violations as XLSX (default: when ``scale <= XLSX_MAX_SCALE``);
        otherwise ``violations.csv`` (UTF-8, same columns) with a warning.

    Returns
    -------
    dict
        ``out_dir``, ``files`` ({name: {"rows", "bytes"}}), ``dirt`` ({file: {kind: n}}),
        ``total_bytes``, ``events`` (rows of the four event files), ``seconds``, ``warnings``.

    Examples
    --------
    >>> summary = write_sample("/tmp/gw-sample", scale=0.05)  # doctest: +SKIP
    >>> summary["files"]["patrol.csv"]["rows"]  # doctest: +SKIP
    1293
    """
    t_start = _time.perf_counter()
    _check_args(seed, months, scale, start)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    use_xlsx = (float(scale) <= XLSX_MAX_SCALE) if xlsx is None else bool(xlsx)
    vname = FILES["violation"] if use_xlsx else "violations.csv"
    notes: list[str] = []
    files: dict[str, dict[str, int]] = {}
    truth: dict[str, Any] = {}
    # one source at a time: written, then dropped (memory stays ~ one source)
    for name, obj in _generate(geography, seed=seed, months=months, scale=scale, start=start):
        if name == "gazetteer":
            files[FILES["addresses"]] = {"rows": _write_addresses(out / FILES["addresses"], obj)}
        elif name == "patrol":
            files[FILES["patrol"]] = {"rows": _write_csv(out / FILES["patrol"], HEADERS["patrol"],
                                                         obj.chunks(), "utf-8")}
        elif name == "hotline":
            files[FILES["hotline"]] = {"rows": _write_csv(out / FILES["hotline"], HEADERS["hotline"],
                                                          obj.chunks(), "gbk")}
        elif name == "violation":
            if use_xlsx:
                files[vname] = {"rows": _write_xlsx(out / vname, obj, _period_note(start, months))}
            else:
                msg = (f"scale {scale} > {XLSX_MAX_SCALE}: violations written as {vname} (UTF-8, same columns, "
                       "times as ISO text, CGCS2000 = WGS84 values) instead of XLSX")
                warnings.warn(msg, stacklevel=2)
                notes.append(msg)
                files[vname] = {"rows": _write_csv(out / vname, HEADERS["violation"],
                                                   ({**c, "违法时间": c["_iso"]} for c in obj.chunks()), "utf-8")}
            stale = out / ("violations.csv" if use_xlsx else FILES["violation"])
            if stale.exists():  # never leave the other violations format from an earlier run
                stale.unlink()
        elif name == "snapshot":
            files[FILES["snapshot"]] = {"rows": _write_geojson(out / FILES["snapshot"], obj)}
        else:
            truth = obj
        del obj
    if not use_xlsx:
        truth["dirt"][vname] = truth["dirt"].pop(FILES["violation"])
        truth["rows"][vname] = truth["rows"].pop(FILES["violation"])
        truth["time_formats"][vname] = truth["time_formats"].pop(FILES["violation"])
        truth["crs"][vname] = truth["crs"].pop(FILES["violation"])
        truth["pii"][vname] = truth["pii"].pop(FILES["violation"])
        for h in truth["hotspots"]:
            h["files"] = [vname if f == FILES["violation"] else f for f in h["files"]]
    truth["files"] = sorted(files)
    (out / FILES["truth"]).write_text(json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=False) + "\n",
                                      encoding="utf-8")
    files[FILES["truth"]] = {"rows": 0}
    for name in files:
        files[name]["bytes"] = (out / name).stat().st_size
    return {
        "out_dir": str(out),
        "files": files,
        "dirt": truth["dirt"],
        "events": sum(files[f]["rows"] for f in (FILES["patrol"], FILES["hotline"], vname, FILES["snapshot"])),
        "total_bytes": sum(f["bytes"] for f in files.values()),
        "seconds": round(_time.perf_counter() - t_start, 2),
        "warnings": notes,
    }
