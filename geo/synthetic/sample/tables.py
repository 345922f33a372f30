"""The raw table of each source: columns as the street offices' systems export them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo.synthetic.sample.contract import CHUNK, DIRT_CODE, DIRT_RATES, HEADERS
from geo.synthetic.sample.dirt import (
    assign_dirt,
    dirt_counts,
    dirty_coords,
    exact_duplicates,
    near_duplicates,
)
from geo.synthetic.sample.geography import Prep
from geo.synthetic.sample.strings import (
    bad_times,
    choose_text,
    fixed,
    fullwidth,
    id_numbers,
    names,
    pad_ws,
    per_day_seq,
    phones,
    plates,
    raw_categories,
    record_ids,
    time_strings,
)
from geo.synthetic.sample.timing import Period
from geo.synthetic.sample.vocabulary import (
    ACTIONS,
    CAT_INDEX,
    CATS,
    FAKE_ROADS,
    FULLWIDTH,
    HOTLINE_STATUS,
    HOTLINE_TEXT,
    PATROL_MODES,
    PATROL_STATUS,
    PATROL_TEXT,
    SNAP_STATUS,
    SNAP_TEXT,
    TYPO_MAP,
    UNKNOWN_CATEGORIES,
    VEH_P_MOVING,
    VEH_P_PARKING,
    VEHICLES,
)


# --------------------------------------------------------------------------- #
# per-source tables
# --------------------------------------------------------------------------- #
@dataclass
class Table:
    source: str
    a: dict[str, np.ndarray]
    fmt: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.a["t"])

    def chunks(self, size: int = CHUNK) -> Iterator[dict[str, np.ndarray]]:
        for i in range(0, len(self), size):
            yield self.fmt({k: v[i:i + size] for k, v in self.a.items()})


def _finish_common(a: dict[str, np.ndarray], rng: np.random.Generator, source: str, p: Prep,
                   crs: str, eligible: dict[str, np.ndarray] | None = None,
                   zero_only: bool = False, decorate: Callable[[dict[str, np.ndarray]], None] | None = None
                   ) -> dict[str, np.ndarray]:
    """Near duplicates, ids, in-place dirt, exact duplicates and output coordinates."""
    counts = dirt_counts(DIRT_RATES[source], len(a["t"]))
    if decorate is not None:
        decorate(a)
    a = near_duplicates(a, rng, counts["near_duplicate"])
    if eligible is not None:
        eligible = {k: v(a) for k, v in eligible.items()}  # type: ignore[operator]
    a["seq"] = per_day_seq(a["t"])
    assign_dirt(a, rng, counts, eligible)
    a["olon"], a["olat"] = dirty_coords(p, a, rng, crs, zero_only)
    a = exact_duplicates(a, rng, counts["exact_duplicate"])
    return a


def patrol_table(p: Prep, per: Period, rng: np.random.Generator, ev: dict[str, np.ndarray]) -> Table:
    n_big = len(p.big_ids)
    teams = names(rng, n_big * 4).reshape(n_big, 4)
    staff_labels = np.column_stack([teams[:, 0] + "、" + teams[:, 1], teams[:, 2] + "、" + teams[:, 3],
                                    teams[:, 2], teams[:, 3], "联合执法组（" + teams[:, 0] + "）"]).ravel()

    def decorate(a: dict[str, np.ndarray]) -> None:
        n = len(a["t"])
        cats = a["cat"].astype(np.int64)
        a["rawcat"] = raw_categories(rng, cats)
        pre, post = choose_text(rng, cats, PATROL_TEXT)
        a["pre"], a["post"] = pre, post
        # action: mild for daily/weekly, harsh for the monthly joint enforcement
        act = np.empty(n, dtype=object)
        for ci, code in enumerate(CATS):
            m = cats == ci
            if not m.any():
                continue
            acts = np.array(ACTIONS.get(code, ("教育",)), dtype=object)
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
    unknown = np.array(UNKNOWN_CATEGORIES["patrol"], dtype=object)

    def fmt(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        d = c["dirt"]
        tstr = time_strings(c["t"], c["tfmt"])
        lon, lat = fixed(c["olon"], 6).astype(object), fixed(c["olat"], 6).astype(object)
        cat = c["rawcat"].copy()
        road = p.road_names[p.sroad[np.maximum(c["seg"], 0)]]
        desc = c["pre"] + road + c["post"]
        _string_dirt(c, tstr, cat, lon, unknown)
        return {"记录编号": record_ids("XJ", c["t"], c["seq"], 5), "巡查时间": tstr, "经度": lon, "纬度": lat,
                "问题类型": cat, "问题描述": desc, "处置措施": c["action"],
                "处置状态": PATROL_STATUS[c["status"]], "巡查人员": staff_labels[c["staff"]],
                "巡查方式": PATROL_MODES[c["mode"]]} if len(d) else {h: np.empty(0, object)
                                                                 for h in HEADERS["patrol"]}

    return Table("patrol", a, fmt)


def _string_dirt(c: dict[str, np.ndarray], tstr: np.ndarray, cat: np.ndarray, num: np.ndarray | None,
                 unknown: np.ndarray) -> None:
    """Apply time/category/whitespace/full-width dirt in place to one chunk's strings.

    Whitespace goes to the time, the category or the longitude; full-width
    digits to the time or the longitude.  An empty longitude (address-only
    rows) sends the defect to the time instead, so every counted defect shows.
    """
    d, v = c["dirt"], c["dvar"]
    m = d == DIRT_CODE["bad_time"]
    if m.any():
        tstr[m] = bad_times(v[m], c["t"][m])
    m = d == DIRT_CODE["unknown_category"]
    if m.any():
        cat[m] = unknown[v[m] % len(unknown)]
    has_num = np.zeros(len(d), bool) if num is None else np.array([x != "" for x in num], dtype=bool)
    for kind, n_targets in (("whitespace", 3), ("fullwidth_digits", 2)):
        m = d == DIRT_CODE[kind]
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
            col[mm] = pad_ws(col[mm], v[mm]) if kind == "whitespace" else fullwidth(col[mm])


def hotline_table(p: Prep, per: Period, rng: np.random.Generator, ev: dict[str, np.ndarray],
                   gaz: pd.DataFrame) -> Table:
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
        a["rawcat"] = raw_categories(rng, cats, .75)
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
        pre, post = choose_text(rng, cats, HOTLINE_TEXT)
        a["pre"], a["post"] = pre, post
        pii = rng.random(n)
        a["pii"] = np.where(pii < .03, 1, np.where(pii < .036, 2, 0)).astype(np.int8)
        a["pii_val"] = np.full(n, "", dtype=object)
        a["pii_val"][a["pii"] == 1] = phones(rng, int((a["pii"] == 1).sum())).astype(str)
        a["pii_val"][a["pii"] == 2] = id_numbers(rng, int((a["pii"] == 2).sum()))
        a["caller"] = phones(rng, n)
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
    nd = a["dirt"] == DIRT_CODE["near_duplicate"]
    a["caller"][nd] = phones(rng, int(nd.sum()))
    unknown = np.array(UNKNOWN_CATEGORIES["hotline"], dtype=object)
    addr_counts = {"with_coordinates": int(a["has_xy"].sum()), "address_only": int((~a["has_xy"]).sum())}
    names = ["standard", "city_district_prefix", "district_prefix", "hao_yuan", "fullwidth_digits",
             "street_prefix", "typo"]
    for i, nm in enumerate(names):
        addr_counts[f"address_only_{nm}"] = int(((~a["has_xy"]) & (a["avar"] == i) &
                                                 (a["dirt"] != DIRT_CODE["address_not_found"])).sum())
    addr_counts["address_only_not_in_gazetteer"] = int((a["dirt"] == DIRT_CODE["address_not_found"]).sum())
    pii_counts = {"phone_in_text": int((a["pii"] == 1).sum()), "id_number_in_text": int((a["pii"] == 2).sum()),
                  "caller_numbers": int(len(a["t"]))}

    def fmt(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = len(c["t"])
        tstr = time_strings(c["t"], c["tfmt"])
        closed = np.full(n, "", dtype=object)
        cm = c["closed"] >= 0
        if cm.any():
            closed[cm] = time_strings(c["closed"][cm], c["tfmt"][cm])
        lon, lat = fixed(c["olon"], 6).astype(object), fixed(c["olat"], 6).astype(object)
        cat = c["rawcat"].copy()
        ai = c["addr_i"]
        addr = g_addr[ai].copy()
        v = c["avar"]
        for k, f in ((1, lambda s: prefix + s), (2, lambda s: p.geo.district_name + s),
                     (3, lambda s: s[:-1] + "号院" if s.endswith("号") else s),
                     (4, lambda s: s.translate(FULLWIDTH))):
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
        m = c["dirt"] == DIRT_CODE["address_not_found"]
        if m.any():
            r = c["typo"][m]
            road = g_road[ai[m]]
            fake = np.array(FAKE_ROADS, dtype=object)[r % len(FAKE_ROADS)]
            big_no = max_no.reindex(road).to_numpy() + 100 + (r % 300)
            addr[m] = np.where(r % 10 < 7, road + pd.Series(big_no).astype(str).to_numpy(dtype=object) + "号",
                               fake + pd.Series(1 + r % 80).astype(str).to_numpy(dtype=object) + "号")
        text = c["pre"] + addr + c["post"]
        pm = c["pii"] == 1
        text[pm] = text[pm] + "联系电话" + c["pii_val"][pm] + "。"
        pm = c["pii"] == 2
        text[pm] = text[pm] + "来电人身份证号" + c["pii_val"][pm] + "。"
        _string_dirt(c, tstr, cat, lon, unknown)
        return {"工单编号": record_ids("GD", c["t"], c["seq"], 5), "受理时间": tstr, "诉求类别": cat, "诉求内容": text,
                "诉求地址": addr, "经度": lon, "纬度": lat, "来电号码": c["caller"].astype(str).astype(object), "办结时间": closed,
                "办理状态": HOTLINE_STATUS[c["status"]]}

    return Table("hotline", a, fmt, {"addresses": addr_counts, "pii": pii_counts})


def _typo(s: str, r: int) -> str:
    """One small typo in the road part of an address: a confusable character or a dropped one."""
    pos = [i for i, ch in enumerate(s) if ch in TYPO_MAP]
    if pos and r % 3:
        i = pos[r % len(pos)]
        return s[:i] + TYPO_MAP[s[i]] + s[i + 1:]
    i = 1 + r % max(len(s) - 4, 1)
    return s[:i] + s[i + 1:]


def violation_table(p: Prep, per: Period, rng: np.random.Generator, ev: dict[str, np.ndarray],
                     gaz: pd.DataFrame) -> Table:
    tree = cKDTree(np.column_stack((gaz["x"].to_numpy(), gaz["y"].to_numpy())))
    g_road = gaz["道路"].to_numpy(dtype=object)
    g_no = gaz["门牌号"].to_numpy(dtype=object)

    def decorate(a: dict[str, np.ndarray]) -> None:
        n = len(a["t"])
        park = a["cat"] == CAT_INDEX["illegal_parking"]
        veh = np.empty(n, dtype=object)
        veh[park] = VEHICLES[rng.choice(6, size=int(park.sum()), p=VEH_P_PARKING)]
        veh[~park] = VEHICLES[rng.choice(6, size=int((~park).sum()), p=VEH_P_MOVING)]
        hot = a["hot"] >= 0  # planted hotspots: the seeds' e-tricycles
        veh[hot] = VEHICLES[rng.choice(6, size=int(hot.sum()), p=[.35, .4, .15, .05, .05, 0])]
        a["veh"] = veh
        a["plate"] = plates(rng, veh)
        a["rawcat"] = raw_categories(rng, a["cat"].astype(np.int64), .8)
        a["addr_i"] = tree.query(np.column_stack((a["x"], a["y"])))[1].astype(np.int64)
        a["pvar"] = rng.integers(0, 3, n).astype(np.int8)
        a["txt_time"] = rng.random(n) < .03  # a few time cells exported as text

    a = _finish_common(ev, rng, "violation", p, "CGCS2000", decorate=decorate)
    unknown = np.array(UNKNOWN_CATEGORIES["violation"], dtype=object)

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
        tstr = time_strings(c["t"], np.where(tm, c["dvar"] % 2, 0).astype(np.int8))
        t_before = tstr.copy()
        lon_s = fixed(c["olon"], 7).astype(object)
        lon_before = lon_s.copy()
        cat = c["rawcat"].copy()
        _string_dirt(c, tstr, cat, lon_s, unknown)
        tm |= tstr != t_before
        lon_txt = lon_s != lon_before
        lat_s = fixed(c["olat"], 7).astype(object)
        ids = record_ids(p.geo.district_code, c["t"], c["seq"], 6)
        # cell types: 0 text, 1 number, 2 date (value = the Excel serial), 3 empty
        serial = fixed(c["t"] / 86400.0 + 25569.0, 10).astype(object)
        return {"违法编号": ids, "违法时间": np.where(tm, tstr, serial), "违法地点": place,
                "经度": lon_s, "纬度": lat_s, "违法行为": cat, "车辆类型": c["veh"], "号牌号码": c["plate"],
                "_iso": np.where(tm, tstr, time_strings(c["t"], np.zeros(n, np.int8))),
                "_type_违法时间": np.where(tm, 0, 2).astype(np.int8),
                "_type_经度": np.where(lon_s == "", 3, np.where(lon_txt, 0, 1)).astype(np.int8),
                "_type_纬度": np.where(lat_s == "", 3, 1).astype(np.int8)}

    return Table("violation", a, fmt)


def snapshot_table(p: Prep, per: Period, rng: np.random.Generator, ev: dict[str, np.ndarray]) -> Table:
    def decorate(a: dict[str, np.ndarray]) -> None:
        n = len(a["t"])
        cats = a["cat"].astype(np.int64)
        a["rawcat"] = raw_categories(rng, cats, .75)
        a["pre"], a["post"] = choose_text(rng, cats, SNAP_TEXT)
        a["status"] = rng.choice(3, size=n, p=[.8, .12, .08]).astype(np.int8)
        a["tfmt"] = rng.choice(2, size=n, p=[.93, .07]).astype(np.int8)

    a = _finish_common(ev, rng, "snapshot", p, "BD09", decorate=decorate)
    unknown = np.array(UNKNOWN_CATEGORIES["snapshot"], dtype=object)

    def fmt(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tstr = time_strings(c["t"], c["tfmt"])
        cat = c["rawcat"].copy()
        road = p.road_names[p.sroad[np.maximum(c["seg"], 0)]]
        _string_dirt(c, tstr, cat, None, unknown)
        return {"上报编号": record_ids("SSP", c["t"], c["seq"], 5), "上报时间": tstr, "问题类别": cat,
                "问题描述": c["pre"] + road + c["post"], "处理状态": SNAP_STATUS[c["status"]],
                "_lon": fixed(c["olon"], 6), "_lat": fixed(c["olat"], 6)}

    return Table("snapshot", a, fmt)
