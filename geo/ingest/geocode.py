"""Offline geocoding of addresses against a standard-address gazetteer (标准地址库).

12345 work orders often carry only an address (诉求地址).  The street office's
gazetteer (``standard_addresses.csv``: 地址编码, 标准地址, 道路, 门牌号, 经度,
纬度, 街道, 社区; WGS84) gives each standard door address a point.  This module
matches free addresses to it without any online service.

Matching runs in three passes, each only on what the previous left unmatched
and always on *unique* values:

1. ``exact`` — the address (trimmed) equals a 标准地址.
2. ``normalized`` — the address's *key* equals a gazetteer key (a hash join).
   :func:`parse_address` builds the key: NFKC (full-width → half-width),
   spaces and punctuation dropped, leading 北京市/XX区/XX街道/XX社区 removed
   (kept as columns to break ties), Chinese house numbers → digits
   (二十三号 → 23号), 号院/号楼/号门 after the house number → 号, explicit road
   aliases (西二环 → 西二环路), and anything after the house number (3号楼2单元,
   东门) set aside as ``detail``.  Key = road + house number + 号.
3. ``fuzzy`` — rapidfuzz ``fuzz.ratio`` between keys, blocked so that
   1e5 addresses × 1e4 entries stay fast: a query whose road is a gazetteer
   road is compared with that road's entries; a query with a house number but
   an unknown (misspelt) road with the entries carrying the same number; the
   rest with a road named anywhere in the text, else the whole gazetteer.

Acceptance rule (a wrong house ~100 m away is worse than "not located")
----------------------------------------------------------------------
A fuzzy candidate is *eligible* only if

- its house number equals the query's (both absent counts as equal;
  甲21 ≠ 21; 21-1 ≠ 21), and
- the roads carry the same numerals and directions (东西南北中内外前后上下左右
  and 零一…九十百千, with 一…九 read as 1…9), except that the query may lack
  one of them (lost to a typo: 冬四十条 for 东四十条, 样例三八十二胡同 for
  样例三百八十二胡同): 样例三路 ≠ 样例一路, 建设东路 ≠ 建设路.

Ineligible candidates get their score capped at :data:`MISMATCH_SCORE_CAP`
(50) and are never accepted, whatever ``min_score`` is.  So 样例一路23号 is not
placed on 样例一路21号: it stays ``none`` and lists the nearest-numbered doors
of that road as candidates.  A best candidate tied with an eligible candidate
at *another* key (样例路21号 vs 样例一路21号 and 样例二路21号) is ambiguous
and not accepted either.  A typo inside the house number therefore cannot be
repaired — it is indistinguishable from another door.

Ties
----
The gazetteer is sorted by 地址编码 (then file order) once; among equal keys the
entry whose street/community/detail agree with the query wins, then the lowest
地址编码.  Fuzzy candidates rank by score, then nearer house number (so the
doors next to a missing one are listed first), then raw similarity before any
cap, then the lowest 地址编码.  Results do not depend on input order.  Only
candidates scoring at least :data:`CANDIDATE_MIN_SCORE` are listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from geo.errors import CoordinateError, InputFileError, SchemaError

__all__ = [
    "AddressRules",
    "BEIJING_DISTRICTS",
    "GAZETTEER_COLUMNS",
    "GEOCODE_COLUMNS",
    "MISMATCH_SCORE_CAP",
    "METHODS",
    "Gazetteer",
    "geocode",
    "normalize_address",
    "parse_address",
]

GAZETTEER_COLUMNS: dict[str, str] = {
    "地址编码": "address_code",
    "标准地址": "address",
    "道路": "road",
    "门牌号": "house_number",
    "经度": "lon",
    "纬度": "lat",
    "街道": "street",
    "社区": "community",
}
"""Gazetteer headers (RAW_FORMATS contract) and the English names used inside."""

GEOCODE_COLUMNS: tuple[str, ...] = (
    "lon", "lat", "score", "method", "matched_address", "address_code",
    "street", "community", "candidates",
)
"""Columns of :func:`geocode`'s result, in order."""

METHODS: tuple[str, ...] = ("exact", "normalized", "fuzzy", "none")
"""Values of the ``method`` column."""

MISMATCH_SCORE_CAP = 50.0
"""Score ceiling of a candidate with another house number or road numeral/direction."""

CANDIDATES_SHOWN = 3
"""Number of candidates listed for an unmatched address."""

_ALL_BLOCK_CHUNK = 1024

MEMO_MAX = 1_000_000
"""Distinct addresses a :class:`Gazetteer` remembers the results of (about 300 MB at most)."""

CANDIDATE_MIN_SCORE = 40.0
"""Candidates scoring below this are not listed (they are noise, not leads)."""

BEIJING_DISTRICTS: tuple[str, ...] = (
    "东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
    "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区",
    "崇文区", "宣武区", "密云县", "延庆县", "北京经济技术开发区", "经济技术开发区",
)
"""District prefixes stripped by default (current 16, pre-2010 and county names, E-Town)."""

# Chinese numerals allowed in a house number (二十三号)
_CN_NUM_CHARS = "零〇一二两三四五六七八九十百千"
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}

# characters that tell two otherwise similar road names apart
_DISTINCT_CHARS = "东西南北中内外前后上下左右零〇一二两三四五六七八九十百千0123456789"
_DISTINCT_FOLD = str.maketrans("零〇一二两三四五六七八九", "001223456789")

_PUNCT = (r"[\s,.;:!?'\"`()\[\]{}<>/\\|*&+=^_，。、；：！？“”‘’（）【】《》〈〉「」『』"
          r"·•・…]")
_DASHES = r"[‐‑‒–—―~〜]"
_NUMBER = r"[甲乙丙丁]?[0-9]+(?:-[0-9]+)?"
_HAN = "[\u4e00-\u9fff]"  # literal characters: RE2 has no \u escapes
_ADMIN_SUFFIX = r"(?:街道办事处|地区办事处|街道|地区|镇|乡|社区居委会|居委会|社区|村委会|村)$"


@dataclass(frozen=True)
class AddressRules:
    """What :func:`parse_address` strips and rewrites.

    Parameters
    ----------
    aliases : Mapping[str, str]
        Road name variants → the gazetteer's road name (``{"西二环": "西二环路"}``).
        Applied to whole road names only; nothing is guessed (大街 ≠ 街).
    cities : tuple of str
        City prefixes dropped (北京市, 北京, 市辖区).
    districts : tuple of str
        District prefixes dropped (default :data:`BEIJING_DISTRICTS`).
    streets, communities : tuple of str
        Street (街道) and community (社区) names dropped as prefixes; a
        :class:`Gazetteer` adds its own.  Any ``XX街道`` / ``XX社区`` right after
        the city/district is dropped as well.
    """

    aliases: Mapping[str, str] = field(default_factory=dict)
    cities: tuple[str, ...] = ("中国", "北京市", "北京", "市辖区")
    districts: tuple[str, ...] = BEIJING_DISTRICTS
    streets: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.aliases, Mapping):
            raise TypeError(f"aliases must be a dict of variant → road name, got {type(self.aliases).__name__}")
        for k, v in self.aliases.items():
            if not isinstance(k, str) or not isinstance(v, str) or not k or not v:
                raise SchemaError(f"road alias {k!r} → {v!r} must map a non-empty name to a non-empty name")
            if k == v:
                raise SchemaError(f"road alias {k!r} maps to itself; remove it")


# ----------------------------------------------------------------------------------
# address parsing
# ----------------------------------------------------------------------------------
def _as_text(values: pd.Series | Sequence[str], name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.astype("str")
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a pandas Series (or list) of address strings, "
                        f"got {type(values).__name__}")
    return pd.Series(values, dtype="str")


def _clean_text(s: pd.Series) -> pd.Series:
    """NFKC, '#' as 号, unified dashes, no spaces/punctuation (vectorised)."""
    s = s.str.normalize("NFKC").str.strip()
    s = s.str.replace(r"([0-9])#", r"\1号", regex=True)
    s = s.str.replace(_DASHES, "-", regex=True)
    s = s.str.replace(r"([0-9])之([0-9])", r"\1-\2", regex=True)
    s = s.str.replace(_PUNCT + "+", "", regex=True)
    # a hyphen only means something between digits (21-1号)
    return s.str.replace(r"(?<![0-9])-+|-+(?![0-9])", "", regex=True)


def _cn_to_int(text: str) -> int | None:
    """二十三 → 23, 一百零五 → 105, 二三 → 23; None if not a plain numeral."""
    if not any(c in _CN_UNITS for c in text):
        digits = [_CN_DIGITS.get(c) for c in text]
        return None if any(d is None for d in digits) else int("".join(map(str, digits)))
    total, current = 0, 0
    for c in text:
        if c in _CN_DIGITS:
            current = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[c]
            current = 0
        else:
            return None
    return total + current


def _cn_house_numbers(s: pd.Series) -> pd.Series:
    """Chinese numerals right before 号 → digits, only on the few values that have them."""
    pattern = f"([{_CN_NUM_CHARS}]+)(?=号)"
    has = s.str.contains(f"[{_CN_NUM_CHARS}]号", regex=True).fillna(False)
    if not has.any():
        return s

    def repl(m: re.Match[str]) -> str:
        n = _cn_to_int(m.group(1))
        return m.group(1) if n is None else str(n)

    out = s.copy()
    out[has] = s[has].str.replace(pattern, repl, regex=True)
    return out


def _admin_core(s: pd.Series) -> pd.Series:
    """Street/community names without 街道/社区/居委会… so 新街口 == 新街口街道."""
    return s.str.normalize("NFKC").str.replace(r"\s+", "", regex=True).str.replace(
        _ADMIN_SUFFIX, "", regex=True)


def _alternation(names: Sequence[str]) -> str:
    """Regex alternation of literal names, longest first (so 西二环路 beats 西二环)."""
    uniq = sorted({n for n in names if n}, key=lambda n: (-len(n), n))
    return "|".join(re.escape(n) for n in uniq)


def _prefix_pattern(rules: AddressRules) -> str:
    return _prefix_pattern_cached(tuple(rules.cities), tuple(rules.districts),
                                  tuple(rules.streets), tuple(rules.communities))


@lru_cache(maxsize=32)
def _prefix_pattern_cached(cities_: tuple[str, ...], districts: tuple[str, ...],
                           streets: tuple[str, ...], communities_: tuple[str, ...]) -> str:
    def opt(names: Sequence[str], generic: str, group: str) -> str:
        alts = [a for a in (_alternation(names), generic) if a]
        return f"(?P<{group}>{'|'.join(alts)})?"

    cities = _alternation(cities_)
    communities = communities_ + tuple(
        f"{c}社区" for c in _admin_core(pd.Series(list(communities_), dtype="str")).dropna()
    )
    return (
        f"^(?:{cities})*" if cities else "^"
    ) + (
        opt(districts, "", "district")
        + opt(streets, _HAN + "{2,6}?(?:街道办事处|街道)", "street")
        # a generic 社区 must not swallow a road (样例一路社区服务站 keeps its road)
        + opt(communities, "[^0-9A-Za-z路街巷号-]{2,8}?社区(?:居委会)?", "community")
        + "(?P<body>.*)$"
    )


def parse_address(addresses: pd.Series | Sequence[str], rules: AddressRules | None = None,
                  *, aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Split addresses into admin prefixes, road, house number and detail.

    Parameters
    ----------
    addresses : pandas.Series or list of str
        Free addresses (诉求地址) or standard addresses.
    rules : AddressRules, optional
        Prefixes and aliases; defaults to Beijing prefixes and no aliases.
    aliases : Mapping[str, str], optional
        Extra road aliases merged over ``rules.aliases``.

    Returns
    -------
    pandas.DataFrame
        On the input index: ``district``, ``street``, ``community`` (prefixes
        found, else missing), ``road`` (text before the house number, alias
        applied), ``house_number`` (``"21"``, ``"甲21"``, ``"21-1"`` or missing),
        ``detail`` (after the number), ``normalized`` (road + number + 号 +
        detail, or the cleaned body when there is no number) and ``key``
        (road + number + 号, or ``normalized``).

    Examples
    --------
    >>> p = parse_address(pd.Series(["北京市西城区新街口街道 样例一路２３号院3号楼"]))
    >>> p.loc[0, ["district", "street", "road", "house_number", "detail", "key"]].tolist()
    ['西城区', '新街口街道', '样例一路', '23', '3号楼', '样例一路23号']
    """
    rules = rules or AddressRules()
    if aliases:
        rules = replace(rules, aliases={**rules.aliases, **aliases})
    text = _as_text(addresses, "addresses")
    clean = _clean_text(text)
    parts = clean.str.extract(_prefix_pattern(rules))
    body = _cn_house_numbers(parts["body"].astype("str"))
    num = body.str.extract(
        f"^(?P<road>.*?)(?P<num>{_NUMBER})(?:号院|号楼|号门|号)(?P<detail>.*)$")
    # "样例一路21" (no 号): digits closing the address after a road
    bare = body.str.extract(f"^(?P<road>.*?[^0-9-])(?P<num>{_NUMBER})$")
    use_bare = num["num"].isna() & bare["num"].notna()
    road = num["road"].where(~use_bare, bare["road"])
    house = num["num"].where(~use_bare, bare["num"])
    detail = num["detail"].where(~use_bare, "")
    road = road.replace(dict(rules.aliases)) if rules.aliases else road
    body = body.where(body.str.len().gt(0))  # nothing left after cleaning: missing
    has_num = house.notna()
    key = (road.fillna("") + house.fillna("") + "号").where(has_num)
    normalized = (key + detail.fillna("")).where(has_num, body)
    if rules.aliases:  # an address that is only a road name
        normalized = normalized.where(has_num, normalized.replace(dict(rules.aliases)))
    out = pd.DataFrame({
        "district": parts["district"], "street": parts["street"], "community": parts["community"],
        "road": road, "house_number": house, "detail": detail,
        "normalized": normalized, "key": key.where(has_num, normalized),
    }, index=text.index)
    return out.astype("str")


def normalize_address(addresses: pd.Series | Sequence[str], rules: AddressRules | None = None,
                      *, aliases: Mapping[str, str] | None = None) -> pd.Series:
    """Normalised form of addresses for matching (see :func:`parse_address`).

    Examples
    --------
    >>> normalize_address(pd.Series(["北京市西城区 样例一路 二十三号院", "西二环１号"]),
    ...                   aliases={"西二环": "西二环路"}).tolist()
    ['样例一路23号', '西二环路1号']
    """
    return parse_address(addresses, rules, aliases=aliases)["normalized"].rename(
        getattr(addresses, "name", None))


def _road_signature(road: pd.Series) -> pd.Series:
    """The numerals and directions of a road name, Chinese numerals as digits."""
    return road.fillna("").str.replace(f"[^{_DISTINCT_CHARS}]", "", regex=True).str.translate(
        _DISTINCT_FOLD)


def _leading_int(number: pd.Series) -> np.ndarray:
    """Numeric part of a house number (甲21-1 → 21) as float, NaN if absent."""
    return pd.to_numeric(number.str.extract(r"([0-9]+)", expand=False), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)


# ----------------------------------------------------------------------------------
# gazetteer
# ----------------------------------------------------------------------------------
class Gazetteer:
    """A validated standard-address gazetteer, indexed for :func:`geocode`.

    Build it with :meth:`from_csv` or :meth:`from_frame`.  ``frame`` holds the
    entries sorted by ``address_code`` with English column names
    (:data:`GAZETTEER_COLUMNS`) plus the parsed ``key``, ``road_key`` and
    ``number`` used for matching.
    """

    def __init__(self, frame: pd.DataFrame, rules: AddressRules) -> None:
        self.frame = frame
        self.rules = rules
        self._memo: dict[float, pd.DataFrame] = {}  # min_score → results by address (see remembered)
        self.roads: frozenset[str] = frozenset(frame["road_key"].dropna())
        lexicon = list(self.roads) + [a for a, r in rules.aliases.items() if r in self.roads]
        alt = _alternation(lexicon)
        self._road_anywhere = f"(?P<road>{alt})" if alt else None
        self._road_suffix = f"(?P<road>{alt})$" if alt else None
        n = len(frame)
        self._pos = np.arange(n)
        self._exact = pd.Series(self._pos, index=frame["address"].str.strip()).groupby(level=0).min()
        self._keys = pd.DataFrame({
            "key": frame["key"], "pos": self._pos,
            "g_street": _admin_core(frame["street"]), "g_community": _admin_core(frame["community"]),
            "g_detail": frame["detail"],
        })
        self._key_arr = frame["key"].to_numpy(dtype=object)
        self._key_code = pd.factorize(frame["key"])[0]
        self._addr_arr = frame["address"].to_numpy(dtype=object)
        self._addr_code = pd.factorize(frame["address"])[0].astype(np.int64)
        self._has_same_text = bool(self._addr_code.max(initial=-1) + 1 < n)
        self._num_int = _leading_int(frame["number"])
        self._by_road = {r: np.asarray(p) for r, p in frame.groupby("road_key", sort=True).indices.items()}
        self._by_number = {k: np.asarray(p) for k, p in frame.groupby("number", sort=True).indices.items()}
        # entries without a road (a park, a compound name) are signed by their whole key
        sig_codes, sig_vocab = pd.factorize(_road_signature(frame["road_key"].fillna(frame["key"])))
        self._sig = sig_codes.astype(np.int64)
        self._sig_vocab: list[str] = [str(v) for v in sig_vocab]
        # each signature and its one-character deletions, as (variant, signature) integer pairs
        variants = [(t[:i] + t[i + 1:], c) for c, t in enumerate(self._sig_vocab) for i in range(len(t))]
        variants += [(t, c) for c, t in enumerate(self._sig_vocab)]
        var_codes, var_vocab = pd.factorize(pd.Series([v for v, _ in variants], dtype=object))
        self._sig_variants = pd.Index(var_vocab, dtype=object)
        self._sig_valid = np.unique(var_codes.astype(np.int64) * len(self._sig_vocab)
                                    + np.array([c for _, c in variants], dtype=np.int64))
        num_codes, num_vocab = pd.factorize(frame["number"].fillna(""))
        self._num_code = num_codes.astype(np.int64)  # "" (no number) is a code too
        self._num_index = pd.Series(np.arange(len(num_vocab)), index=pd.Index(num_vocab, dtype=object))

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"Gazetteer({len(self)} addresses, {len(self.roads)} roads)"

    # -- construction --------------------------------------------------------
    def remembered(self, addresses: pd.Series, min_score: float,
                   compute: Callable[[pd.Series], pd.DataFrame]) -> pd.DataFrame:
        """Per-address results for distinct ``addresses``, computing only those not seen before.

        A result depends only on the address, this gazetteer and ``min_score``, and
        complaint addresses repeat month after month: a long file or a Dask worker
        taking chunk after chunk geocodes each distinct address once.  The memory
        holds at most :data:`MEMO_MAX` addresses (then starts again).
        """
        if len(addresses) == 0:
            return compute(addresses)
        memo = self._memo.get(min_score)
        if memo is not None and len(memo) + len(addresses) > MEMO_MAX:
            memo = None  # full: start again
        found = (memo.index.get_indexer(pd.Index(addresses.to_numpy(dtype=object))) if memo is not None
                 else np.full(len(addresses), -1, dtype=np.int64))
        miss = found < 0
        if miss.any():
            new = compute(addresses[miss].reset_index(drop=True))
            new.index = pd.Index(addresses[miss].to_numpy(dtype=object))
            found[miss] = (len(memo) if memo is not None else 0) + np.arange(int(miss.sum()))
            memo = new if memo is None else pd.concat([memo, new])
            self._memo[min_score] = memo
        return memo.iloc[found].reset_index(drop=True)  # type: ignore[union-attr]

    @classmethod
    def from_csv(cls, path: str | PathLike[str], rules: AddressRules | None = None, *,
                 aliases: Mapping[str, str] | None = None,
                 bounds: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)) -> Gazetteer:
        """Read ``standard_addresses.csv`` (UTF-8, BOM tolerated) and validate it.

        Parameters
        ----------
        path : path-like
            The gazetteer CSV with the headers of :data:`GAZETTEER_COLUMNS`.
        rules, aliases :
            As in :func:`parse_address`; the gazetteer adds its 街道/社区 names.
        bounds : (min_lon, min_lat, max_lon, max_lat)
            Coordinates outside raise :class:`~geo.errors.CoordinateError`
            (default: China).
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileError("gazetteer file not found; export the 标准地址库 as "
                                 "standard_addresses.csv into the workspace", file=str(path))
        try:
            df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                             na_values=[""])
        except UnicodeDecodeError as exc:
            raise InputFileError(f"not UTF-8 ({exc.reason} at byte {exc.start}); re-save the "
                                 f"gazetteer as UTF-8", file=str(path)) from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputFileError(f"cannot be read as CSV: {exc}", file=str(path)) from exc
        return cls.from_frame(df, rules, aliases=aliases, bounds=bounds, source=str(path))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, rules: AddressRules | None = None, *,
                   aliases: Mapping[str, str] | None = None,
                   bounds: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0),
                   source: str | None = None) -> Gazetteer:
        """Validate a gazetteer table (Chinese or English headers) and index it.

        Raises
        ------
        InputFileError
            Missing columns, no rows, or empty 标准地址.
        CoordinateError
            经度/纬度 not numeric or outside ``bounds`` (names the rows, and says
            when they look swapped).
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"gazetteer must be a pandas DataFrame, got {type(df).__name__}")
        english = set(GAZETTEER_COLUMNS.values())
        if english.issubset(df.columns):
            df = df[list(GAZETTEER_COLUMNS.values())].copy()
        else:
            missing = [c for c in GAZETTEER_COLUMNS if c not in df.columns]
            if missing:
                raise InputFileError(
                    f"gazetteer lacks column(s) {missing}; expected headers "
                    f"{list(GAZETTEER_COLUMNS)} (got {list(df.columns)})", file=source)
            df = df[list(GAZETTEER_COLUMNS)].rename(columns=GAZETTEER_COLUMNS)
        if df.empty:
            raise InputFileError("gazetteer has no rows", file=source)
        line = pd.RangeIndex(len(df)) + 2  # CSV line numbers: header is line 1

        def rows(mask: np.ndarray) -> str:
            bad = line[mask][:5].tolist()
            more = int(mask.sum()) - len(bad)
            return f"{bad}" + (f" and {more} more" if more > 0 else "")

        text_cols = ["address_code", "address", "road", "house_number", "street", "community"]
        df[text_cols] = df[text_cols].astype("str")
        no_addr = (df["address"].isna() | df["address"].str.strip().eq("")).to_numpy()
        if no_addr.any():
            raise InputFileError(f"标准地址 is empty on line(s) {rows(no_addr)}; fill or delete them",
                                 file=source, column="标准地址")
        for col, zh in (("lon", "经度"), ("lat", "纬度")):
            raw = df[col]
            num = pd.to_numeric(raw, errors="coerce")
            bad = (num.isna() | ~np.isfinite(num.astype(float))).to_numpy()
            if bad.any():
                first = raw[bad].iloc[0]
                raise CoordinateError(
                    f"gazetteer column {zh} is not a number on line(s) {rows(bad)} "
                    f"(e.g. {first!r}); use decimal degrees like 116.3912")
            df[col] = num.astype("float64")
        lo_lon, lo_lat, hi_lon, hi_lat = bounds
        out = ~(df["lon"].between(lo_lon, hi_lon) & df["lat"].between(lo_lat, hi_lat)).to_numpy()
        if out.any():
            swapped = (df["lat"].between(lo_lon, hi_lon) & df["lon"].between(lo_lat, hi_lat)).to_numpy()
            hint = (" — 经度 and 纬度 look swapped" if swapped[out].all()
                    else f"; expected WGS84 degrees within lon {lo_lon}–{hi_lon}, lat {lo_lat}–{hi_lat}")
            raise CoordinateError(f"gazetteer coordinates out of range on line(s) {rows(out)}{hint}")

        rules = rules or AddressRules()
        rules = replace(
            rules,
            aliases={**rules.aliases, **(aliases or {})},
            streets=tuple(sorted(set(rules.streets) | set(df["street"].dropna()))),
            communities=tuple(sorted(set(rules.communities) | set(df["community"].dropna()))),
        )
        # deterministic order: by address code, then file order
        df = df.sort_values("address_code", kind="stable", na_position="last").reset_index(drop=True)
        parsed = parse_address(df["address"], rules)
        road_col = _clean_text(df["road"].fillna(""))
        road_col = road_col.replace(dict(rules.aliases)) if rules.aliases else road_col
        hn = _cn_house_numbers(_clean_text(df["house_number"].fillna("")))
        hn = hn.str.extract(f"^({_NUMBER})(?:号院|号楼|号门|号)?$", expand=False)
        # the 道路/门牌号 columns win when both are usable, else the parsed 标准地址
        from_cols = road_col.str.len().gt(0) & hn.notna()
        df["road_key"] = road_col.where(from_cols, parsed["road"]).replace("", pd.NA).astype("str")
        df["number"] = hn.where(from_cols, parsed["house_number"]).astype("str")
        df["key"] = (df["road_key"] + df["number"] + "号").where(
            df["number"].notna() & df["road_key"].notna(), parsed["key"]).astype("str")
        df["detail"] = parsed["detail"].fillna("").astype("str")
        return cls(df, rules)

    # -- matching helpers ----------------------------------------------------
    def parse(self, addresses: pd.Series) -> pd.DataFrame:
        """:func:`parse_address` with this gazetteer's names, plus road recognition.

        Adds ``road_known`` (the road is a gazetteer road; a known road at the
        end of an unknown prefix, as in 样例小区样例一路, is taken) and
        ``road_in_text`` (a gazetteer road named anywhere, for addresses without
        a house number).
        """
        p = parse_address(addresses, self.rules)
        known = p["road"].isin(self.roads)
        if self._road_suffix is not None:
            unknown = ~known & p["house_number"].notna() & p["road"].str.len().gt(0)
            if unknown.any():
                found = p.loc[unknown, "road"].str.extract(self._road_suffix, expand=False)
                found = found.replace(dict(self.rules.aliases)) if self.rules.aliases else found
                ok = found.notna()
                idx = found.index[ok]
                p.loc[idx, "road"] = found[ok]
                p.loc[idx, "key"] = found[ok] + p.loc[idx, "house_number"] + "号"
                known = p["road"].isin(self.roads)
        p["road_known"] = known
        p["road_in_text"] = pd.Series(pd.NA, index=p.index, dtype="str")
        if self._road_anywhere is not None:
            nonum = p["house_number"].isna()
            if nonum.any():
                found = p.loc[nonum, "normalized"].str.extract(self._road_anywhere, expand=False)
                if self.rules.aliases:
                    found = found.replace(dict(self.rules.aliases))
                p.loc[nonum, "road_in_text"] = found
        return p


# ----------------------------------------------------------------------------------
# geocoding
# ----------------------------------------------------------------------------------
def _join_keys(p: pd.DataFrame, gaz: Gazetteer) -> pd.Series:
    """Normalised pass: gazetteer position per parsed query (-1 if none), by hash join."""
    q = pd.DataFrame({
        "qid": np.arange(len(p)), "key": p["key"].to_numpy(),
        "q_street": _admin_core(p["street"]).to_numpy(),
        "q_community": _admin_core(p["community"]).to_numpy(),
        "q_detail": p["detail"].fillna("").to_numpy(),
    })
    m = q.dropna(subset=["key"]).merge(gaz._keys, on="key", how="inner")
    out = np.full(len(p), -1, dtype=np.int64)
    if m.empty:
        return pd.Series(out, index=p.index)
    # prefer the entry whose detail, street, community agree with the query
    # 2号楼3单元 agrees with the entry 样例一路29号院2号楼 (detail 2号楼)
    qd = m["q_detail"].fillna("").to_numpy(dtype=str)
    gd = m["g_detail"].fillna("").to_numpy(dtype=str)
    same_detail = (gd != "") & np.strings.startswith(qd, gd)
    pref = (4 * same_detail.astype(int)
            + 2 * m["q_street"].eq(m["g_street"]).fillna(False).astype(int)
            + m["q_community"].eq(m["g_community"]).fillna(False).astype(int))
    m = m.assign(pref=pref.to_numpy()).sort_values(["qid", "pref", "pos"],
                                                   ascending=[True, False, True], kind="stable")
    best = m.drop_duplicates("qid")
    out[best["qid"].to_numpy()] = best["pos"].to_numpy()
    return pd.Series(out, index=p.index)


def _format_candidates(top: np.ndarray, scores: np.ndarray, gaz: Gazetteer) -> np.ndarray:
    """'样例一路21号 (50); 样例一路25号 (50)' per row, vectorised over all rows at once.

    ``top`` holds gazetteer positions (-1 = no candidate) sorted best first, so
    listed candidates form a prefix of each row; rows with none get a missing value.
    """
    n, k = top.shape
    keep = (top >= 0) & (scores >= CANDIDATE_MIN_SCORE)
    names = gaz._addr_arr[np.where(top >= 0, top, 0)]
    joined = pd.Series(pd.NA, index=range(n), dtype="str")
    for j in range(k):
        part = (pd.Series(names[:, j], dtype="str") + " ("
                + pd.Series(np.rint(scores[:, j]).astype(np.int64)).astype("str") + ")")
        part = part.where(keep[:, j])
        joined = joined.where(part.isna() | joined.isna(), joined + "; " + part).fillna(part)
    return joined.to_numpy(dtype=object)


class _SignatureCompat:
    """Vectorised test: is a query road signature compatible with a gazetteer one?

    Compatible = equal, or the query lacks exactly one of the gazetteer road's
    numerals/directions (lost to a typo: 冬四十条 ~ 东四十条).  An extra or a
    different one (样例三路 vs 样例一路, 建设东路 vs 建设路) is not.  The
    gazetteer's signatures and their one-deletion variants are hashed once
    (:attr:`Gazetteer._sig_valid`), so a pair is an integer lookup.
    """

    def __init__(self, q_sig: pd.Series, gaz: Gazetteer) -> None:
        self.codes = gaz._sig_variants.get_indexer(q_sig.fillna("").to_numpy(dtype=object)).astype(np.int64)
        self._n_g = len(gaz._sig_vocab)
        self._valid = gaz._sig_valid

    def __call__(self, q_codes: np.ndarray, g_codes: np.ndarray) -> np.ndarray:
        pair = q_codes * self._n_g + g_codes
        at = np.minimum(np.searchsorted(self._valid, pair), len(self._valid) - 1)
        return (q_codes >= 0) & (self._valid[at] == pair)


def _score_block(q_keys: np.ndarray, q_num: np.ndarray, q_sig: np.ndarray, q_int: np.ndarray,
                 g: np.ndarray, gaz: Gazetteer, min_score: float, workers: int,
                 compat: _SignatureCompat
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fuzzy-score queries against gazetteer positions ``g`` (sorted by 地址编码).

    Only pairs scoring at least :data:`CANDIDATE_MIN_SCORE` are ranked (a
    sparse set), so a whole-gazetteer block costs little beyond ``cdist``.

    Returns the best position (-1 if not accepted), its score (0 if no pair
    reaches the candidate floor), whether it is accepted, and the top
    :data:`CANDIDATES_SHOWN` positions and scores (padded with -1 / 0).
    """
    nq = len(q_keys)
    raw = process.cdist(list(q_keys), list(gaz._key_arr[g]), scorer=fuzz.ratio,
                        score_cutoff=CANDIDATE_MIN_SCORE, dtype=np.float32, workers=workers)
    qi, gj = np.nonzero(raw >= CANDIDATE_MIN_SCORE)
    rp = raw[qi, gj].astype(np.float64)
    gp = g[gj]
    eligible = q_num[qi] == gaz._num_code[gp]
    eligible[eligible] = compat(q_sig[qi[eligible]], gaz._sig[gp[eligible]])
    capped = np.where(eligible, rp, np.minimum(rp, MISMATCH_SCORE_CAP))
    dist = np.abs(q_int[qi] - gaz._num_int[gp])
    dist = np.where(np.isnan(dist), np.inf, dist)
    # per query: score, then the nearest door (on one road), raw similarity, 地址编码
    order = np.lexsort((gj, -rp, dist, -capped, qi))
    qi, gp, capped, eligible = qi[order], gp[order], capped[order], eligible[order]
    if gaz._has_same_text:
        # one line per standard address: same-text entries (other streets) add nothing
        _, first_seen = np.unique(qi * len(gaz) + gaz._addr_code[gp], return_index=True)
        keep_pair = np.zeros(len(qi), dtype=bool)
        keep_pair[first_seen] = True
        qi, gp, capped, eligible = qi[keep_pair], gp[keep_pair], capped[keep_pair], eligible[keep_pair]
    start = np.searchsorted(qi, np.arange(nq))
    rank = np.arange(len(qi)) - start[qi]
    keep = rank < CANDIDATES_SHOWN
    top = np.full((nq, CANDIDATES_SHOWN), -1, dtype=np.int64)
    top_scores = np.zeros((nq, CANDIDATES_SHOWN))
    top[qi[keep], rank[keep]] = gp[keep]
    top_scores[qi[keep], rank[keep]] = capped[keep]
    first = rank == 0
    accepted = np.zeros(nq, dtype=bool)
    accepted[qi[first]] = eligible[first] & (capped[first] >= min_score)
    # another address (other key) just as good: ambiguous, not a match
    best_score = np.full(nq, -1.0)
    best_key = np.full(nq, -1, dtype=np.int64)
    best_score[qi[first]] = capped[first]
    best_key[qi[first]] = gaz._key_code[gp[first]]
    rival = eligible & (capped == best_score[qi]) & (gaz._key_code[gp] != best_key[qi])
    accepted[qi[rival]] = False
    best = np.where(accepted, top[:, 0], -1)
    return best, top_scores[:, 0], accepted, top, top_scores


def geocode(addresses: pd.Series | Sequence[str], gazetteer: Gazetteer, min_score: float = 85.0,
            *, workers: int = -1) -> pd.DataFrame:
    """Locate addresses on a gazetteer, offline.

    Parameters
    ----------
    addresses : pandas.Series or list of str
        Free addresses (诉求地址); missing or empty ones stay unmatched.
    gazetteer : Gazetteer
        From :meth:`Gazetteer.from_csv`.
    min_score : float
        Fuzzy matches scoring below this (0–100) are not accepted (settings:
        ``geocode_min_score``; values under :data:`CANDIDATE_MIN_SCORE` act
        as it).  Candidates with another house number or road
        numeral/direction are never accepted (see the module docstring).
    workers : int
        Threads for rapidfuzz (``-1`` = all cores).

    Returns
    -------
    pandas.DataFrame
        On the input index, columns :data:`GEOCODE_COLUMNS`: ``lon``/``lat``
        (WGS84, NaN when not located), ``score`` (100 for exact/normalized,
        the fuzzy score, or for ``none`` the best candidate's score, 0 when no
        candidate reaches :data:`CANDIDATE_MIN_SCORE`), ``method``
        (:data:`METHODS`), ``matched_address``, ``address_code``, ``street``,
        ``community`` of the match and, for
        unmatched addresses, ``candidates``: the best 3 as
        ``"样例一路21号 (50); …"``.

    Examples
    --------
    >>> gaz = Gazetteer.from_frame(pd.DataFrame({
    ...     "地址编码": ["A1", "A2"], "标准地址": ["样例一路21号", "样例一路25号"],
    ...     "道路": ["样例一路", "样例一路"], "门牌号": ["21号", "25号"],
    ...     "经度": [116.36, 116.37], "纬度": [39.94, 39.95],
    ...     "街道": ["新街口街道"] * 2, "社区": ["西里社区"] * 2}))
    >>> r = geocode(pd.Series(["西城区样例一路２１号院", "样例一璐21号", "样例一路23号"]), gaz)
    >>> r["method"].tolist(), r["address_code"].tolist()[:2]
    (['normalized', 'fuzzy', 'none'], ['A1', 'A1'])
    >>> r.loc[2, "candidates"]
    '样例一路21号 (50); 样例一路25号 (50)'
    """
    if not isinstance(gazetteer, Gazetteer):
        raise TypeError(f"gazetteer must be a Gazetteer (use Gazetteer.from_csv), "
                        f"got {type(gazetteer).__name__}")
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) \
            or not 0 < float(min_score) <= 100:
        raise ValueError(f"min_score={min_score!r} must be a number in (0, 100]; the default is 85")
    min_score = float(min_score)
    text = _as_text(addresses, "addresses")
    codes, uniques = pd.factorize(text.str.strip().replace("", pd.NA))
    u = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
    per_unique = gazetteer.remembered(u, min_score, lambda miss: _geocode_unique(miss, gazetteer, min_score, workers))
    empty_row = pd.DataFrame({"lon": [np.nan], "lat": [np.nan], "score": [0.0], "method": ["none"],
                              "matched_address": [None], "address_code": [None], "street": [None],
                              "community": [None], "candidates": [None]})
    table = pd.concat([per_unique, empty_row], ignore_index=True)  # code -1 → last row
    out = table.iloc[np.where(codes < 0, len(table) - 1, codes)].set_axis(text.index)
    for c in ("method", "matched_address", "address_code", "street", "community", "candidates"):
        out[c] = out[c].astype("str")
    return out[list(GEOCODE_COLUMNS)]


def _geocode_unique(u: pd.Series, gazetteer: Gazetteer, min_score: float, workers: int) -> pd.DataFrame:
    """:func:`geocode` of distinct, stripped, non-empty addresses: one row per address, in order."""
    n = len(u)
    pos = np.full(n, -1, dtype=np.int64)
    method = np.full(n, "none", dtype=object)
    score = np.zeros(n, dtype=np.float64)
    cands = np.full(n, pd.NA, dtype=object)

    # 1. exact
    exact = u.map(gazetteer._exact).to_numpy(dtype=float, na_value=np.nan)
    hit = ~np.isnan(exact)
    pos[hit] = exact[hit].astype(np.int64)
    method[hit] = "exact"
    score[hit] = 100.0

    # 2. normalised key
    rest = np.flatnonzero(~hit)
    if len(rest):
        p = gazetteer.parse(u.iloc[rest].reset_index(drop=True))
        joined = _join_keys(p, gazetteer).to_numpy()
        ok = joined >= 0
        pos[rest[ok]] = joined[ok]
        method[rest[ok]] = "normalized"
        score[rest[ok]] = 100.0
        p = p.loc[~ok]
        rest = rest[~ok]

        # 3. fuzzy, once per unique key
        if len(rest):
            _fuzzy(p, rest, gazetteer, min_score, workers, pos, method, score, cands)

    # expand unique → rows
    got = pos >= 0
    fr = gazetteer.frame
    take = np.where(got, pos, 0)

    def col(name: str) -> np.ndarray:
        return np.where(got, fr[name].to_numpy(dtype=object)[take], None)

    return pd.DataFrame({
        "lon": np.where(got, fr["lon"].to_numpy()[take], np.nan),
        "lat": np.where(got, fr["lat"].to_numpy()[take], np.nan),
        "score": np.round(score, 2), "method": method,
        "matched_address": col("address"), "address_code": col("address_code"),
        "street": col("street"), "community": col("community"),
        "candidates": np.where(got, None, cands),
    })


def _fuzzy(p: pd.DataFrame, rest: np.ndarray, gaz: Gazetteer, min_score: float, workers: int,
           pos: np.ndarray, method: np.ndarray, score: np.ndarray, cands: np.ndarray) -> None:
    """Fuzzy pass over the unique keys of unmatched queries, block by block (in place)."""
    keys = p["key"].fillna("").to_numpy(dtype=object)
    ukeys, inv = np.unique(keys, return_inverse=True)
    first = pd.Series(np.arange(len(keys))).groupby(inv).first().to_numpy()
    q = p.iloc[first].reset_index(drop=True)
    has_num = q["house_number"].notna().to_numpy()
    road_known = q["road_known"].to_numpy(dtype=bool)
    road_text = q["road_in_text"].to_numpy(dtype=object)
    q_num = q["house_number"].fillna("").to_numpy(dtype=object)
    # numbers as the gazetteer's codes; a number it does not have matches nothing (-2)
    q_num_code = pd.Series(q_num, dtype=object).map(gaz._num_index).fillna(-2).to_numpy(dtype=np.int64)
    sig_source = q["road"].where(has_num, q["road_in_text"].fillna(q["normalized"]))
    compat = _SignatureCompat(_road_signature(sig_source), gaz)
    q_sig = compat.codes
    q_int = _leading_int(q["house_number"])

    # block label per unique query: ("road", name) / ("num", number) / ("all", "")
    kind = np.where(has_num & road_known, "road",
                    np.where(has_num, "num", np.where(pd.notna(road_text), "road", "all")))
    name = np.where(has_num & road_known, q["road"].fillna("").to_numpy(dtype=object),
                    np.where(has_num, q_num, np.where(pd.notna(road_text), road_text, "")))
    number_known = pd.Series(name, dtype=object).isin(list(gaz._by_number)).to_numpy()
    kind = np.where((kind == "num") & ~number_known, "all", kind)
    kind = np.where(ukeys == "", "skip", kind)

    best_pos = np.full(len(ukeys), -1, dtype=np.int64)
    best_score = np.zeros(len(ukeys))
    accepted = np.zeros(len(ukeys), dtype=bool)
    top = np.full((len(ukeys), CANDIDATES_SHOWN), -1, dtype=np.int64)
    top_scores = np.zeros((len(ukeys), CANDIDATES_SHOWN))
    labels = pd.DataFrame({"kind": kind, "name": name})
    for (k, nm), idx in labels.groupby(["kind", "name"], sort=True).indices.items():
        if k == "skip":
            continue
        if k == "road":
            g = gaz._by_road[nm]
        elif k == "num":
            g = gaz._by_number[nm]
        else:
            g = gaz._pos
        # bound the memory of a whole-gazetteer block (chunk × len(gazetteer) floats)
        step = _ALL_BLOCK_CHUNK if k == "all" else len(idx)
        for s in range(0, len(idx), step):
            i = idx[s:s + step]
            bp, bs, acc, tp, ts = _score_block(ukeys[i], q_num_code[i], q_sig[i], q_int[i], g, gaz,
                                             min_score, workers, compat)
            best_pos[i], best_score[i], accepted[i], top[i], top_scores[i] = bp, bs, acc, tp, ts
    cand = np.full(len(ukeys), pd.NA, dtype=object)
    if (~accepted).any():
        cand[~accepted] = _format_candidates(top[~accepted], top_scores[~accepted], gaz)

    # back to unique addresses
    rows_pos, rows_acc = best_pos[inv], accepted[inv]
    pos[rest] = np.where(rows_acc, rows_pos, -1)
    method[rest] = np.where(rows_acc, "fuzzy", "none")
    score[rest] = best_score[inv]
    cands[rest] = np.where(rows_acc, None, cand[inv])
