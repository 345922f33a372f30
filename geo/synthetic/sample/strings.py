"""Vectorised string building: times, ids, full-width digits, and synthetic personal data."""

from __future__ import annotations

import operator
import re
from functools import cache, reduce
from typing import Any

import numpy as np

from geo.synthetic.sample.vocabulary import (
    CATS,
    FULLWIDTH,
    GIVEN,
    ID_CHECK,
    ID_REGIONS,
    ID_WEIGHTS,
    PLATE_CHARS,
    PLATE_LETTERS,
    RAW_COUNT,
    RAW_LABELS,
    RAW_OFFSET,
    SURNAMES,
)

# --------------------------------------------------------------------------- #
# string helpers (vectorised; numpy StringDType-free 'U'/object arrays)
# --------------------------------------------------------------------------- #
# Strings are built as numpy object arrays: elementwise ``+`` on them is a C loop of
# Python string concatenations, several times faster than numpy's fixed-width 'U'
# arrays for these short, mixed-length fields.
_PAD2 = np.array([f"{i:02d}" for i in range(100)], dtype=object)
_NUM = np.array([str(i) for i in range(100)], dtype=object)
_YEAR = np.array([str(y) for y in range(1970, 2200)], dtype=object)


def as_object(a: Any) -> Any:
    if isinstance(a, str):
        return a
    a = np.asarray(a)
    return a if a.dtype == object else a.astype(object)


def concat_strings(*parts: Any) -> np.ndarray:
    """Elementwise concatenation of string arrays and scalars (object array)."""
    return np.asarray(reduce(operator.add, [as_object(q) for q in parts]), dtype=object)


def _digits(v: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal strings of non-negative integers below 10**width."""
    return np.strings.slice((np.asarray(v, np.int64) + 10 ** width).astype(str), 1, None).astype(object)


def fixed(v: np.ndarray, nd: int) -> np.ndarray:
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


def time_strings(t: np.ndarray, fmt: np.ndarray) -> np.ndarray:
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


def record_ids(prefix: str, t: np.ndarray, seq: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + YYYYMMDD + zero-padded sequence (wider when a day has more rows)."""
    seq = np.asarray(seq, np.int64)
    if not len(seq):
        return np.empty(0, dtype=object)
    w = max(width, len(str(int(seq.max()))))
    tab = np.array([f"{i:0{w}d}" for i in range(int(seq.max()) + 1)], dtype=object)
    return prefix + _day_strings(np.asarray(t, np.int64) // 86400, "compact") + tab[seq]


def per_day_seq(t: np.ndarray) -> np.ndarray:
    """1-based sequence of each row within its day (rows sorted by time)."""
    day = t // 86400
    first = np.r_[True, day[1:] != day[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(len(t)), 0))
    return np.arange(len(t)) - start + 1


def fullwidth(a: np.ndarray) -> np.ndarray:
    return np.array([str(s).translate(FULLWIDTH) for s in a], dtype=object)


def pad_ws(a: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Stray whitespace: trailing space, leading space, ideographic space, or a tab-free double space."""
    a = np.asarray(a, dtype=object)
    forms = (lambda s: s + " ", lambda s: " " + s, lambda s: s + "\u3000", lambda s: " " + s + "  ")
    return np.array([forms[int(v) % 4](str(s)) for s, v in zip(a, var, strict=True)], dtype=object)


def bad_times(var: np.ndarray, t: np.ndarray) -> np.ndarray:
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


def choose_text(rng: np.random.Generator, cats: np.ndarray, table: dict[str, tuple[str, ...]]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Template (pre, post) around a placeholder, per row."""
    flat_pre, flat_post, off, cnt = [], [], [], []
    for c in (*CATS, "other"):
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


def raw_categories(rng: np.random.Generator, cats: np.ndarray, p_label: float = .7) -> np.ndarray:
    u = rng.random(len(cats))
    syn = 1 + (rng.random(len(cats)) * np.maximum(RAW_COUNT[cats] - 1, 1)).astype(np.int64)
    syn = np.minimum(syn, RAW_COUNT[cats] - 1)
    var = np.where(u < p_label, 0, syn)
    return RAW_LABELS[RAW_OFFSET[cats] + var]


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fake, pattern-valid mobile numbers 1[3-9]XXXXXXXXX as int64 (format with ``.astype(str)``)."""
    return 10 ** 10 + rng.integers(3, 10, n) * 10 ** 9 + rng.integers(0, 10 ** 9, n)


def id_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fake but checksum-valid 18-character ID numbers."""
    if n == 0:
        return np.empty(0, dtype=object)
    region = ID_REGIONS[rng.integers(0, len(ID_REGIONS), n)]
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 50, n).astype("timedelta64[D]")
    ymd = np.strings.replace(birth.astype(str), "-", "").astype(object)
    body = concat_strings(region, ymd, _digits(rng.integers(0, 1000, n), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17).astype(np.int64) - 48
    return concat_strings(body, ID_CHECK[(digits @ ID_WEIGHTS) % 11])


def plates(rng: np.random.Generator, veh: np.ndarray) -> np.ndarray:
    """Fake plates: 京A12345-like (cars, e-bikes), 京AD12345 (new energy), some 冀B/津C; many e-trikes have none."""
    n = len(veh)
    u = rng.random(n)
    letters = PLATE_LETTERS[rng.integers(0, len(PLATE_LETTERS), n)]
    chars = [PLATE_CHARS[rng.integers(0, len(PLATE_CHARS), n)] for _ in range(5)]
    digits5 = _digits(rng.integers(0, 10 ** 5, n), 5)
    prov = np.where(u < .88, "京", np.where(u < .95, "冀", "津")).astype(object)
    city = np.where(prov == "京", letters, np.where(prov == "冀", "B", "C")).astype(object)
    normal = concat_strings(prov, city, chars[0], chars[1], chars[2], chars[3], chars[4])
    ev = concat_strings(prov, city, "D", digits5)
    car = np.where(rng.random(n) < .2, ev, normal)
    ebike = concat_strings("京", letters, digits5)
    has = rng.random(n)
    out = np.where(veh == "小型汽车", car,
                   np.where((veh == "电动自行车") & (has < .5), ebike,
                            np.where(((veh == "电动三轮车") | (veh == "电动四轮车")) & (has < .15), car,
                                     np.where(veh == "摩托车", normal, ""))))
    return out.astype(object)


def names(rng: np.random.Generator, n: int) -> np.ndarray:
    s = np.array(SURNAMES, dtype=object)[rng.integers(0, len(SURNAMES), n)]
    g = np.array(GIVEN, dtype=object)[rng.integers(0, len(GIVEN), n)]
    return s + g
