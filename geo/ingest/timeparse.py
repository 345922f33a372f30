"""Vectorised parsing of the time formats found in enforcement exports.

One column often mixes formats (an Excel sheet edited by hand, exports of
several systems pasted together).  :func:`parse_times` recognises, in one
column and without a per-value Python loop:

- ISO 8601: ``2024-03-05 08:30:00``, ``2024-03-05T08:30``, fractional
  seconds, ``2024-03-05``; with ``Z``/``+08:00``/``+0800``/``-05`` offsets (the
  offset is respected);
- slashes and dots: ``2024/03/05 08:30(:00)``, ``2024/3/5 8:30``, ``2024.3.5``;
- Chinese: ``2024年3月5日 8时``, ``2024年3月5日 8时30分(15秒)``,
  ``2024年3月5日 08:30``, ``8点半``, ``下午3时`` (上午/下午/中午/晚上/凌晨);
- day- or month-first ``05/03/2024 08:30`` and ``03/05/2024 08:30:00 PM``:
  the order is inferred from the whole column (a value with a first field
  over 12 proves day-first); undecidable columns are read month-first when
  they carry AM/PM, day-first otherwise, and a note says so;
- compact digits ``YYYYMMDD``, ``YYYYMMDDHHMM``, ``YYYYMMDDHHMMSS``;
- Excel serial day numbers ``45356.354166`` (1900 date system, 20000–80000,
  local wall time, rounded to the second as Excel displays them);
- Unix epoch seconds (1e9–4e9) and milliseconds (1e12–4e12): UTC instants;
- full-width digits and punctuation (NFKC).

Values without an offset are local wall time in ``tz``.  Impossible values
(month 13, 30 February, 25:00) are ``time_unparseable``; empty ones
``time_missing``.

How: polars ``strptime`` (Rust, validating) on the values still unparsed,
format after format — the common pure-ISO column is done in one call; the
rest is normalised with literal multi-replacements and a few regexes, numeric
values go through numpy arithmetic.  Each step only touches what is left.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from geo.errors import SettingsError
from geo.ingest.textnorm import FULLWIDTH_DST, FULLWIDTH_SRC, to_arrow_strings

__all__ = ["ParsedTimes", "parse_times", "parse_closed_times", "TIME_MISSING",
           "TIME_UNPARSEABLE", "CLOSED_UNPARSEABLE", "CLOSED_BEFORE_OCCURRED", "TIME_UNIT"]

TIME_MISSING = "time_missing"
TIME_UNPARSEABLE = "time_unparseable"
CLOSED_UNPARSEABLE = "closed_unparseable"
CLOSED_BEFORE_OCCURRED = "closed_before_occurred"
TIME_UNIT = "us"
"""Resolution of the returned times (microseconds, as Parquet and DuckDB store them)."""

_NAT = np.iinfo(np.int64).min
_US = 1_000_000
_DAY_US = 86_400 * _US
_EXCEL_EPOCH_DAYS = 25_569  # 1899-12-30 → 1970-01-01, the 1900 date system

_PM = ("下午", "晚上", "傍晚", "夜里", "夜间", "晚")
_AM = ("上午", "早上", "早晨", "凌晨", "清晨", "早")
_NOON = ("中午",)
# Single-character rewrites towards "YYYY-M-D H:M[:S]" (polars' multi-replace does
# not prefer longer patterns, so no pattern is a prefix of another).  AM/PM
# marker characters are blanked after the markers have been recorded.
_MARKER_CHARS = "上下中午晚早凌晨夜里间傍清"
_LITERALS: tuple[tuple[str, str], ...] = (
    ("年", "-"), ("月", "-"), ("日", " "), ("号", " "), ("號", " "), ("时", ":"), ("時", ":"),
    ("点", ":"), ("點", ":"), ("分", ":"), ("秒", ""), ("钟", ""), ("鐘", ""), ("半", "30"),
    ("/", "-"), ("T", " "),
    *((c, " ") for c in _MARKER_CHARS),
)
_MARKERS = ("上午", "下午", "中午", "晚上", "凌晨", "早上", "早晨", "傍晚", "夜里", "夜间", "清晨",
            "晚", "早", "AM", "PM", "am", "pm", "a.m.", "p.m.", "A.M.", "P.M.")
# After the rewrite every year-first value looks like "2024-3-5[ 8:30[:15[.250]]]".
_YMD_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S%.f")
_DMY_TAILS = (" %H:%M:%S", " %H:%M", "", " %H:%M:%S%.f")
_HAS_OFFSET = r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?\s*[+-]\d{2}(?::?\d{2})?$"
_AWARE_FORMATS = ("%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z", "%Y-%m-%d %H:%M:%S%.f%z")


@dataclass
class ParsedTimes:
    """Result of :func:`parse_times`.

    Attributes
    ----------
    times
        ``datetime64[us, tz]`` Series on the input's index; ``NaT`` where not ``ok``.
    ok
        Boolean Series: the value was parsed (for :func:`parse_closed_times`:
        parsed, or legitimately empty).
    reason
        ``str`` Series: ``NaN`` where ``ok``, else a reason code
        (``time_missing``, ``time_unparseable``, ``closed_unparseable``,
        ``closed_before_occurred``).
    kinds
        How many values each recognised format class parsed (``iso``,
        ``ymd``, ``offset``, ``dmy``, ``mdy``, ``compact``, ``excel_serial``,
        ``epoch_s``, ``epoch_ms``, ``format``) — for ingest reports.
    notes
        Assumptions made (e.g. the day/month order of an ambiguous column).
    """

    times: pd.Series
    ok: pd.Series
    reason: pd.Series
    kinds: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def utc(self) -> pd.Series:
        """:attr:`times` converted to UTC."""
        return self.times.dt.tz_convert("UTC")

    def __len__(self) -> int:
        return len(self.times)


def _check_tz(tz: str) -> None:
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise SettingsError(
            f"unknown time zone {tz!r}; use an IANA name such as 'Asia/Shanghai'") from None


def _python_to_chrono(fmt: str) -> str:
    """Python strptime codes → chrono (polars): only fractional seconds differ."""
    return fmt.replace(".%f", "%.f").replace(",%f", "%.f")


def _civil_us(Y: np.ndarray, M: np.ndarray, D: np.ndarray, h: np.ndarray, mi: np.ndarray,
              s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock microseconds since 1970 of calendar fields, and their validity."""
    valid = ((Y >= 1) & (Y <= 9999) & (M >= 1) & (M <= 12) & (D >= 1) & (h >= 0) & (h < 24)
             & (mi >= 0) & (mi < 60) & (s >= 0) & (s < 60))
    Yc = np.where(valid, Y, 1970)
    Mc = np.where(valid, M, 1)
    month = ((Yc - 1970) * 12 + (Mc - 1)).astype("datetime64[M]")
    start = month.astype("datetime64[D]").astype(np.int64)
    dim = (month + 1).astype("datetime64[D]").astype(np.int64) - start
    valid &= D <= dim
    days = start + np.where(valid, D, 1) - 1
    us = (((days * 24 + h) * 60 + mi) * 60 + s) * _US
    return np.where(valid, us, _NAT), valid


class _Work:
    """Values still to parse: their positions and current (rewritten) text."""

    def __init__(self, n: int) -> None:
        self.local = np.full(n, _NAT, dtype=np.int64)   # naive wall-clock µs
        self.utc = np.full(n, _NAT, dtype=np.int64)     # instants, µs since epoch UTC
        self.kinds: dict[str, int] = {}

    def take(self, idx: np.ndarray, s: pl.Series, parsed: np.ndarray, kind: str, *,
             aware: bool = False) -> tuple[np.ndarray, pl.Series]:
        """Store the parsed values (``_NAT`` = not parsed), return what is left."""
        got = parsed != _NAT
        if got.any():
            target = self.utc if aware else self.local
            target[idx[got]] = parsed[got]
            self.kinds[kind] = self.kinds.get(kind, 0) + int(got.sum())
        keep = ~got
        return idx[keep], s.filter(pl.Series(keep))


def _strptime(s: pl.Series, fmt: str, aware: bool = False) -> np.ndarray:
    if len(s) == 0:
        return np.zeros(0, dtype=np.int64)
    dtype = pl.Datetime(TIME_UNIT, "UTC") if aware else pl.Datetime(TIME_UNIT)
    try:
        out = s.str.strptime(dtype, fmt, strict=False, exact=True, cache=False)
    except pl.exceptions.ComputeError:
        return np.full(len(s), _NAT, dtype=np.int64)
    return out.to_physical().fill_null(_NAT).to_numpy().astype(np.int64, copy=False)


def _cascade(w: _Work, idx: np.ndarray, s: pl.Series, formats: tuple[str, ...], kind: str,
             aware: bool = False) -> tuple[np.ndarray, pl.Series]:
    for fmt in formats:
        if len(s) == 0:
            break
        idx, s = w.take(idx, s, _strptime(s, fmt, aware), kind, aware=aware)
    return idx, s


def _rewrite(s: pl.Series) -> pl.Series:
    """Chinese/slash/dot/T/AM-PM variants → ``YYYY-M-D H:M[:S]`` with literal replacements.

    年月 → '-', 日 → ' ', 时/点 → ':', 分 → ':', 秒 → '', 半 → '30', then a value
    ending in ':' ("8时" → "8:", "8时30分" → "8:30:") gets "00"; polars' strptime
    accepts any run of spaces where the format has one.
    """
    zulu = s.str.contains(r"(?i)\d\s*(?:z|utc|gmt)$").fill_null(False)
    if zulu.any():
        i = zulu.arg_true()
        s = s.scatter(i, s.gather(i).str.replace(r"(?i)\s*(?:z|utc|gmt)$", "+00:00"))
    ampm = s.str.contains(r"(?i)\d\s*[ap]\.?\s*m\.?$").fill_null(False)
    if ampm.any():
        i = ampm.arg_true()
        s = s.scatter(i, s.gather(i).str.replace(r"(?i)\s*[ap]\.?\s*m\.?$", ""))
    dotted = s.str.contains(r"^\d{4}\.\d{1,2}\.\d{1,2}").fill_null(False)
    if dotted.any():
        i = dotted.arg_true()
        s = s.scatter(i, s.gather(i).str.replace(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})", "$1-$2-$3"))
    s = s.str.replace_many([a for a, _ in _LITERALS], [b for _, b in _LITERALS]).str.strip_chars()
    return pl.select(pl.when(s.str.ends_with(":")).then(s + "00").otherwise(s)).to_series()


def _ampm_shift(s_orig: pl.Series) -> np.ndarray:
    """Hours to add for AM/PM markers: +12 for PM/下午 (hour < 12), -12 for 12 AM.

    Returned as a code: 1 = PM-like, 2 = AM-like, 3 = noon (中午), 0 = none.
    """
    code = np.zeros(len(s_orig), dtype=np.int8)
    if len(s_orig) == 0:
        return code
    en_pm = s_orig.str.contains(r"(?i)\d\s*p\.?\s*m\.?$").fill_null(False).to_numpy()
    en_am = s_orig.str.contains(r"(?i)\d\s*a\.?\s*m\.?$").fill_null(False).to_numpy()
    zh_pm = s_orig.str.contains_any(list(_PM)).fill_null(False).to_numpy()
    zh_am = s_orig.str.contains_any(list(_AM)).fill_null(False).to_numpy()
    noon = s_orig.str.contains_any(list(_NOON)).fill_null(False).to_numpy()
    code[en_am | zh_am] = 2
    code[en_pm | zh_pm] = 1
    code[noon] = 3
    return code


def _numeric(w: _Work, idx: np.ndarray, s: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Compact digits, Excel serials and epoch seconds/milliseconds."""
    # A float cast is cheaper than a regex; the regex then confirms the few candidates.
    cand = s.cast(pl.Float64, strict=False).is_not_null().to_numpy()
    if not cand.any():
        return idx, s
    is_num = cand.copy()
    is_num[cand] = (s.filter(pl.Series(cand)).str.contains(r"^\d+(?:\.\d+)?$")
                    .fill_null(False).to_numpy())
    if not is_num.any():
        return idx, s
    sub = s.filter(pl.Series(is_num))
    v = sub.cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
    dot = sub.str.find(".", literal=True).to_numpy()     # NaN where there is no '.'
    has_frac = ~np.isnan(dot)
    int_len = np.where(has_frac, np.nan_to_num(dot), sub.str.len_bytes().to_numpy()).astype(np.int64)
    n = len(sub)
    local = np.full(n, _NAT, dtype=np.int64)
    inst = np.full(n, _NAT, dtype=np.int64)
    counts: dict[str, int] = {}

    compact = ~has_frac & np.isin(int_len, (8, 12, 14))
    if compact.any():
        num = sub.filter(pl.Series(compact)).cast(pl.Int64, strict=False).fill_null(0).to_numpy()
        L = int_len[compact]
        scale = np.where(L == 14, 10**10, np.where(L == 12, 10**8, 10**4))
        rest = num % scale
        tail = rest % (scale // 10**4)  # HHMMSS, HHMM or nothing
        h = np.where(L == 14, tail // 10**4, np.where(L == 12, tail // 100, 0))
        mi = np.where(L == 14, tail // 100 % 100, np.where(L == 12, tail % 100, 0))
        sec = np.where(L == 14, tail % 100, 0)
        us, ok = _civil_us(num // scale, rest // (scale // 100), rest // (scale // 10**4) % 100,
                           h, mi, sec)
        ci = np.flatnonzero(compact)[ok]
        local[ci] = us[ok]
        counts["compact"] = len(ci)
    excel = ~compact & (v >= 20_000) & (v < 80_000)
    local[excel] = np.rint((v[excel] - _EXCEL_EPOCH_DAYS) * 86_400).astype(np.int64) * _US
    epoch_s = ~compact & (v >= 1e9) & (v < 4e9)
    epoch_ms = ~compact & (v >= 1e12) & (v < 4e12)
    inst[epoch_s] = np.rint(v[epoch_s] * _US).astype(np.int64)
    inst[epoch_ms] = np.rint(v[epoch_ms] * 1_000).astype(np.int64)
    counts.update(excel_serial=int(excel.sum()), epoch_s=int(epoch_s.sum()),
                  epoch_ms=int(epoch_ms.sum()))
    pos = idx[is_num]
    got_local = local != _NAT
    got_inst = inst != _NAT
    w.local[pos[got_local]] = local[got_local]
    w.utc[pos[got_inst]] = inst[got_inst]
    for k, c in counts.items():
        if c:
            w.kinds[k] = w.kinds.get(k, 0) + c
    done = np.zeros(len(s), dtype=bool)
    done[np.flatnonzero(is_num)[got_local | got_inst]] = True
    return idx[~done], s.filter(pl.Series(~done))


def _fullwidth(idx: np.ndarray, s: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Full-width digits/letters/punctuation and the ideographic space → ASCII."""
    fw = s.str.contains(r"[\x{FF01}-\x{FF5E}\x{3000}]").fill_null(False)
    if fw.any():
        i = fw.arg_true()
        s = s.scatter(i, s.gather(i).str.replace_many(FULLWIDTH_SRC, FULLWIDTH_DST))
    return idx, s


def _ampm_codes(idx: np.ndarray, s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Positions carrying an AM/PM/上午/下午 marker and their code (see :func:`_ampm_shift`)."""
    any_marker = s.str.contains_any(list(_MARKERS)).fill_null(False).to_numpy()
    if not any_marker.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
    code = _ampm_shift(s.filter(pl.Series(any_marker)))
    keep = code != 0
    return idx[any_marker][keep], code[keep]


def _ymd(w: _Work, idx: np.ndarray, s: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Year-first values, one strptime per value: the number of ':' picks the format."""
    colons = s.str.count_matches(":", literal=True).fill_null(-1).to_numpy()
    left_idx, left_s = [], []
    for n_colons, formats in ((2, (_YMD_FORMATS[0], _YMD_FORMATS[3])), (1, (_YMD_FORMATS[1],)),
                              (0, (_YMD_FORMATS[2],))):
        sel = colons == n_colons
        if sel.any():
            i, sub = _cascade(w, idx[sel], s.filter(pl.Series(sel)), formats, "ymd")
            left_idx.append(i)
            left_s.append(sub)
    other = ~np.isin(colons, (0, 1, 2))
    left_idx.append(idx[other])
    left_s.append(s.filter(pl.Series(other)))
    order = np.argsort(np.concatenate(left_idx), kind="stable")
    merged_idx = np.concatenate(left_idx)[order]
    merged = pl.concat(left_s).gather(order) if len(order) else s.clear()
    return merged_idx, merged


def _day_month(w: _Work, idx: np.ndarray, s: pl.Series, has_ampm: bool, notes: list[str]
               ) -> tuple[np.ndarray, pl.Series]:
    """``DD-MM-YYYY`` or ``MM-DD-YYYY`` (slashes already '-'): order inferred from the column."""
    hit = s.str.contains(r"^\d{1,2}-\d{1,2}-\d{4}").fill_null(False).to_numpy()
    if not hit.any():
        return idx, s
    sub = s.filter(pl.Series(hit))
    head = sub.str.split_exact("-", 2)
    a = head.struct.field("field_0").cast(pl.Int64, strict=False).fill_null(0).to_numpy()
    b = head.struct.field("field_1").cast(pl.Int64, strict=False).fill_null(0).to_numpy()
    only_d = int(((a > 12) & (b <= 12)).sum())
    only_m = int(((b > 12) & (a <= 12)).sum())
    if only_d and only_m:
        day_first = only_d >= only_m
        notes.append(
            f"day/month order is inconsistent ({only_d} values only valid day-first, {only_m} "
            f"only month-first); read {'day' if day_first else 'month'}-first — set "
            "time_format in the mapping file to be explicit")
    elif only_d or only_m:
        day_first = bool(only_d)
    else:
        day_first = not has_ampm
        notes.append(
            f"{len(sub)} dates like 05/03/2024 are ambiguous; read "
            + ("day-first (DD/MM/YYYY)" if day_first
               else "month-first (MM/DD/YYYY, US style with AM/PM)")
            + " — set time_format in the mapping file if that is wrong")
    head_fmt = "%d-%m-%Y" if day_first else "%m-%d-%Y"
    kind = "dmy" if day_first else "mdy"
    sub_idx = idx[hit]
    sub_idx, sub = _cascade(w, sub_idx, sub, tuple(head_fmt + t for t in _DMY_TAILS), kind)
    done = np.ones(len(s), dtype=bool)
    done[np.flatnonzero(~hit)] = False
    still = np.isin(idx, sub_idx)
    done &= ~still
    return idx[~done], s.filter(pl.Series(~done))


def parse_times(values: pd.Series, tz: str = "Asia/Shanghai",
                time_format: str | None = None) -> ParsedTimes:
    """Parse a column of raw times (mixed formats) into tz-aware timestamps.

    Parameters
    ----------
    values
        Raw values (text, numbers, or already ``datetime64``).
    tz
        IANA time zone of values without an offset; results are in it.
    time_format
        Optional Python ``strptime`` format tried first (e.g.
        ``"%d/%m/%Y %H:%M"``); values it does not match still go through the
        automatic formats.

    Returns
    -------
    ParsedTimes

    Examples
    --------
    >>> import pandas as pd
    >>> p = parse_times(pd.Series(["2024-03-05 08:30:00", "2024年3月5日 8时30分",
    ...                            "45356.5", "2024-02-30", None]))
    >>> p.times.dt.strftime("%Y-%m-%d %H:%M").tolist()[:3]
    ['2024-03-05 08:30', '2024-03-05 08:30', '2024-03-05 12:00']
    >>> p.reason.tolist()[3:]
    ['time_unparseable', 'time_missing']
    """
    _check_tz(tz)
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    n = len(values)
    index = values.index
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        return _from_datetimes(values, tz)

    if pd.api.types.is_float_dtype(values.dtype):
        # 20240305083000.0 must not become "2.0240305083e+13": integral floats as integers.
        f = values.to_numpy(dtype=np.float64, na_value=np.nan)
        integral = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < 2.0**53)
        values = pd.Series(np.where(integral, pd.Series(f).where(integral, 0).astype(np.int64)
                                    .astype(str), pd.Series(f).astype(str)), index=index,
                           name=values.name).where(np.isfinite(f))

    w = _Work(n)
    notes: list[str] = []
    s_all = pl.from_arrow(to_arrow_strings(values)).str.strip_chars()  # type: ignore[union-attr]
    missing = (s_all.is_null() | (s_all.str.len_bytes() == 0)).to_numpy()
    idx = np.flatnonzero(~missing)
    s = s_all.filter(pl.Series(~missing))

    if time_format:
        fmt = _python_to_chrono(time_format)
        idx, s = w.take(idx, s, _strptime(s, fmt, aware="%z" in fmt), "format",
                        aware="%z" in fmt)
    # Fast path: canonical ISO, the bulk of most columns.
    idx, s = w.take(idx, s, _strptime(s, "%Y-%m-%d %H:%M:%S"), "iso")
    if len(s):
        idx, s = _fullwidth(idx, s)
        idx, s = _numeric(w, idx, s)
        ampm_idx, ampm_code = _ampm_codes(idx, s)
        s = _rewrite(s)
        idx, s = _ymd(w, idx, s)
        offs = s.str.contains(_HAS_OFFSET).fill_null(False).to_numpy()
        if offs.any():
            o_s = s.filter(pl.Series(offs)).str.replace(r"([+-]\d{2})$", "$1:00")
            o_idx, o_s = _cascade(w, idx[offs], o_s, _AWARE_FORMATS, "offset", aware=True)
            left = ~offs
            left[np.flatnonzero(offs)[np.isin(idx[offs], o_idx)]] = True
            idx, s = idx[left], s.filter(pl.Series(left))
        idx, s = _day_month(w, idx, s, bool(len(ampm_idx)), notes)
        if len(ampm_idx):
            _apply_ampm(w, ampm_idx, ampm_code)

    local_mask = w.local != _NAT
    if local_mask.any():
        wall = pd.DatetimeIndex(w.local[local_mask].view(f"M8[{TIME_UNIT}]"))
        inst = wall.tz_localize(tz, ambiguous=np.zeros(len(wall), dtype=bool),
                                nonexistent="shift_forward")
        w.utc[local_mask] = inst.as_unit(TIME_UNIT).asi8
    ok = w.utc != _NAT
    times = pd.DatetimeIndex(w.utc.view(f"M8[{TIME_UNIT}]")).tz_localize("UTC").tz_convert(tz)
    code = np.zeros(n, dtype=np.int8)
    code[missing] = 1
    code[~missing & ~ok] = 2
    return ParsedTimes(
        times=pd.Series(times, index=index, name=values.name),
        ok=pd.Series(ok, index=index, name="ok"),
        reason=_reason_series(code, (TIME_MISSING, TIME_UNPARSEABLE), index),
        kinds=dict(sorted(w.kinds.items())), notes=notes)


def _reason_series(code: np.ndarray, labels: tuple[str, ...], index: pd.Index) -> pd.Series:
    """``str`` Series from codes (0 = ok → NaN, k → labels[k-1]), built in Arrow."""
    import pyarrow as pa

    dictionary = pa.array(labels, pa.large_string())
    codes = pa.array(code.astype(np.int32) - 1, mask=code == 0)
    text = pa.DictionaryArray.from_arrays(codes, dictionary).cast(pa.large_string())
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    arr = dtype.construct_array_type()(pa.chunked_array([text]), dtype=dtype)
    return pd.Series(arr, index=index, name="reason", copy=False)


def _apply_ampm(w: _Work, idx: np.ndarray, code: np.ndarray) -> None:
    """12-hour clock: 下午/PM add 12 h below 12:00, 12 AM is midnight, 中午1点 is 13:00.

    Values with an explicit offset and an AM/PM marker are rejected (rare and
    ambiguous once converted).
    """
    v = w.local[idx]
    have = v != _NAT
    hour = np.where(have, (v // (3600 * _US)) % 24, -1)
    shift = np.zeros(len(idx), dtype=np.int64)
    shift[(code == 1) & (hour >= 0) & (hour < 12)] = 12
    shift[(code == 2) & (hour == 12)] = -12
    shift[(code == 3) & (hour >= 0) & (hour < 11)] = 12
    w.local[idx[have]] = v[have] + shift[have] * 3600 * _US
    aware = w.utc[idx] != _NAT
    w.utc[idx[aware]] = _NAT


def _from_datetimes(values: pd.Series, tz: str) -> ParsedTimes:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        times = values.dt.tz_convert(tz)
    else:
        times = values.dt.tz_localize(tz, ambiguous=np.zeros(len(values), dtype=bool),
                                      nonexistent="shift_forward")
    times = times.dt.as_unit(TIME_UNIT)
    ok = times.notna()
    reason = pd.Series(np.where(ok, None, TIME_MISSING), index=values.index, dtype="str")
    return ParsedTimes(times=times, ok=ok.rename("ok"), reason=reason.rename("reason"),
                       kinds={"datetime": int(ok.sum())})


def parse_closed_times(values: pd.Series, occurred: ParsedTimes | pd.Series | None = None,
                       tz: str = "Asia/Shanghai", time_format: str | None = None) -> ParsedTimes:
    """Parse close-out times (办结时间), where an empty value means "still open".

    Parameters
    ----------
    values
        Raw close-out times.
    occurred
        The event times (a :class:`ParsedTimes` or tz-aware Series on the same
        index); close-out before them is flagged.
    tz, time_format
        As in :func:`parse_times`.

    Returns
    -------
    ParsedTimes
        ``ok`` is ``True`` for parsed and for empty values (``times`` NaT: the
        order is open); failures have reason ``closed_unparseable`` or
        ``closed_before_occurred`` and ``times`` NaT.
    """
    p = parse_times(values, tz=tz, time_format=time_format)
    reason = pd.Series(np.full(len(p), None, dtype=object), index=p.times.index)
    reason[p.reason == TIME_UNPARSEABLE] = CLOSED_UNPARSEABLE
    times = p.times
    if occurred is not None:
        occ = occurred.times if isinstance(occurred, ParsedTimes) else occurred
        before = (times < occ).fillna(False).to_numpy(dtype=bool)
        reason[before] = CLOSED_BEFORE_OCCURRED
    bad = reason.notna()
    times = times.where(~bad)
    return ParsedTimes(times=times, ok=(~bad).rename("ok"),
                       reason=reason.astype("str").rename("reason"), kinds=p.kinds, notes=p.notes)
