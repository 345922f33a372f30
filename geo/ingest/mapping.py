"""Which column became which field, chosen by name *and* content, shown and editable.

:func:`resolve_mapping` decides, for one raw table, the source column(s) of
every canonical field (:data:`geo.ingest.columns.FIELDS`):

1. a mapping file's ``[columns]`` / ``[constants]`` / ``location`` win;
2. otherwise header synonyms propose candidates (:func:`geo.ingest.columns.map_columns`);
3. the candidates' *content* decides between them, on a sample of rows:

   - **time**: parse rate, and whether the values carry an hour; a full
     instant beats a date-only column; a date-only column next to a
     time-of-day (or hour) column is composed into ``date time``;
   - **category**: filled, more than one distinct value, not a column of
     one- or two-letter abbreviations (``st``/``rd``/``dr``);
   - **id**: (nearly) unique values; a non-unique "id" is not used;
   - **coordinates**: numbers in range; projected values (easting/northing)
     need a projected ``--crs``; a single ``(lat, lon)`` / ``POINT (lon lat)`` /
     ``116.36,39.91`` column is split;
   - **address** holding coordinate pairs is a location column instead.

Every choice is recorded in a :class:`FieldChoice` (columns, how: ``mapping
file`` / ``synonym`` / ``content`` / ``constant``, a confidence and the
runner-up), and a runner-up that was plausible becomes a warning.  Where no
choice is safe :class:`MappingError` is raised *before anything is written*;
its message ends with a ready-to-edit mapping file (:meth:`MappingResult.to_toml`).

:func:`compose_frame` then builds the columns the pipeline reads (joined
date + time, constants, split location), leaving the raw columns untouched
for the quarantine file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import InputFileError
from geo.ingest.columns import (
    FIELD_LABELS,
    FIELDS,
    REQUIRED,
    ColumnMapping,
    Mapping,
    header_key,
    map_columns,
)
from geo.ingest.layout import SHEET_COLUMN
from geo.ingest.textnorm import normalize_text
from geo.ingest.timeparse import parse_times

__all__ = ["FieldChoice", "MappingResult", "MappingError", "resolve_mapping", "compose_frame", "mapping_with_columns",
           "split_location", "rewrite_month_names", "COMPOSED_PREFIX", "SAMPLE_ROWS"]

COMPOSED_PREFIX = "__gw_"
"""Prefix of the columns :func:`compose_frame` adds (never written to quarantine files)."""

SAMPLE_ROWS = 2000
"""Rows (evenly spread) on which column content is judged."""

_MIN_TIME_PARSE = 0.8      # share of filled values a time column must parse
_MIN_TIME_PARSE_ANY = 0.2  # below this a time column is not a time column at all
_MIN_FILL = 0.5            # share of rows a category/id candidate must fill
_MIN_ID_UNIQUE = 0.5       # distinct share of an id column's filled values (judged from 20 values on)
_MIN_LOCATION = 0.8        # share of values of a location column that are coordinate pairs

_TIME_OF_DAY = re.compile(
    r"^\s*(?:(?:上午|下午|中午|晚上|凌晨|早上)\s*)?\d{1,2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?|[时点時](?:\d{1,2}分?)?)"
    r"\s*(?:[AaPp]\.?[Mm]\.?)?\s*$")
_TIME_WORDS = re.compile(r"date|time|时间|日期|時間", re.IGNORECASE)
_HOUR_HEADER = re.compile(r"hour|小时|时段|^hr$|^时$", re.IGNORECASE)
_PAIR = re.compile(
    r"^\s*(?:POINT\s*\(\s*(?P<px>-?\d+(?:\.\d+)?)\s+(?P<py>-?\d+(?:\.\d+)?)\s*\)"
    r"|[(\[]?\s*(?P<a>-?\d+(?:\.\d+)?)\s*[,，;；\s]\s*(?P<b>-?\d+(?:\.\d+)?)\s*[)\]]?)\s*$",
    re.IGNORECASE)
_LOCATION_HEADERS = ("location", "经纬度", "坐标", "geom", "the_geom", "geometry", "point", "wkt",
                     "lat_lon", "latlon", "lonlat", "lnglat", "coordinates", "geolocation", "位置坐标")
_X_HEADERS = ("easting", "x_coordinate", "xcoord", "x_coord", "east", "x坐标", "横坐标")
_Y_HEADERS = ("northing", "y_coordinate", "ycoord", "y_coord", "north", "y坐标", "纵坐标")


class MappingError(InputFileError):
    """No safe column choice: the message names the ambiguity and prints a mapping file to edit.

    Attributes
    ----------
    problems : list of str
        One line per field that could not be decided.
    mapping_toml : str
        A mapping file with every decided field filled in and the open ones
        marked ``# CHOOSE``.
    """

    def __init__(self, problems: list[str], mapping_toml: str, file: str | None = None) -> None:
        self.problems = problems
        self.mapping_toml = mapping_toml
        super().__init__(
            "cannot decide the columns safely, nothing was written:\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nFix: save this as mapping.toml, edit the lines marked CHOOSE, and pass --mapping mapping.toml\n"
            + mapping_toml, file=file)


@dataclass(frozen=True)
class FieldChoice:
    """How one field was filled.

    Attributes
    ----------
    field : canonical field name
    columns : source column(s); several are joined (date + time, category parts)
    how : ``"mapping file"``, ``"synonym"``, ``"content"`` or ``"constant"``
    confidence : 0..1 (share of sampled values that fit the field; 1 for a mapping file)
    runner_up : the next plausible column, if any
    note : what the content check saw (``"date only: no hours"``, ``"projected x/y"`` …)
    constant : the value given to every row (``how == "constant"``)
    """

    field: str
    columns: tuple[str, ...]
    how: str
    confidence: float = 1.0
    runner_up: str | None = None
    note: str = ""
    constant: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"columns": list(self.columns), "how": self.how,
                               "confidence": round(self.confidence, 3)}
        if self.runner_up:
            out["runner_up"] = self.runner_up
        if self.note:
            out["note"] = self.note
        if self.constant is not None:
            out["constant"] = self.constant
        return out


@dataclass
class MappingResult:
    """Every field's choice for one file, plus what the pipeline needs to read it.

    Attributes
    ----------
    choices : field → :class:`FieldChoice` (``lon``/``lat`` from a location column name it)
    location : the single column holding both coordinates, if used
    location_order : ``"lon,lat"`` or ``"lat,lon"`` for that column
    unmapped : source columns no field uses
    warnings : runner-ups and doubtful choices, in words
    source : the source the synonyms were chosen for
    timezone, crs : per-file overrides (``None``: the workspace's)
    """

    choices: dict[str, FieldChoice]
    location: str | None = None
    location_order: str | None = None
    unmapped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    timezone: str | None = None
    crs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``mapping`` object of ``ingest --json``: field → columns, how, confidence."""
        out: dict[str, Any] = {f: self.choices[f].to_dict() for f in FIELDS if f in self.choices}
        if self.location:
            out["location"] = {"columns": [self.location], "how": self.choices["lon"].how,
                               "order": self.location_order,
                               "confidence": round(self.choices["lon"].confidence, 3)}
        return out

    def describe(self) -> list[str]:
        """One line per field: ``occurred_at <- 'Created Date' (synonym, 100%)``."""
        lines = []
        for f in FIELDS:
            ch = self.choices.get(f)
            if ch is None:
                continue
            src = (f"= {ch.constant!r}" if ch.constant is not None
                   else "<- " + " + ".join(repr(c) for c in ch.columns))
            extra = f"; {ch.note}" if ch.note else ""
            extra += f"; runner-up {ch.runner_up!r}" if ch.runner_up else ""
            lines.append(f"{f:<13} {src} ({ch.how}, {ch.confidence:.0%}{extra})")
        if self.unmapped:
            lines.append("not used: " + ", ".join(repr(h) for h in self.unmapped))
        return lines

    def to_toml(self, open_fields: dict[str, list[str]] | None = None) -> str:
        """A mapping file reproducing these choices; ``open_fields`` (field → candidates) marked CHOOSE."""
        open_fields = open_fields or {}
        lines = ["[columns]"]
        for f in FIELDS:
            if f in open_fields:
                cands = open_fields[f]
                hint = f"one of {', '.join(repr(c) for c in cands)}" if cands else "a column name"
                lines.append(f'{f} = ""  # CHOOSE {hint}')
                continue
            ch = self.choices.get(f)
            if ch is None or ch.constant is not None or (self.location and f in ("lon", "lat")):
                continue
            if len(ch.columns) == 1:
                lines.append(f"{f} = {_q(ch.columns[0])}")
            else:
                lines.append(f"{f} = [{', '.join(_q(c) for c in ch.columns)}]")
        if self.location:
            lines.append(f"location = {_q(self.location)}")
        consts = [(f, ch.constant) for f, ch in self.choices.items() if ch.constant is not None]
        if consts:
            lines += ["", "[constants]"] + [f"{f} = {_q(str(v))}" for f, v in consts]
        opts = [(k, v) for k, v in (("timezone", self.timezone), ("crs", self.crs),
                                    ("location_order", self.location_order if self.location else None)) if v]
        if opts:
            lines += ["", "[options]"] + [f"{k} = {_q(v)}" for k, v in opts]
        return "\n".join(lines) + "\n"

    def column_mapping(self) -> ColumnMapping:
        """Field → the column :func:`compose_frame` provides for it."""
        fields = {f: _work_column(ch) for f, ch in self.choices.items()}
        return ColumnMapping(fields={f: fields[f] for f in FIELDS if f in fields}, unmapped=list(self.unmapped),
                             ambiguous={}, source=self.source,
                             from_mapping=tuple(f for f, ch in self.choices.items() if ch.how == "mapping file"))


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _work_column(ch: FieldChoice) -> str:
    if ch.constant is None and len(ch.columns) == 1 and not ch.note.startswith(("split from", "comma decimals")) \
            and "month names" not in ch.note:
        return ch.columns[0]
    return COMPOSED_PREFIX + ch.field


# --------------------------------------------------------------------------- content checks

def _sample(values: pd.Series, n: int = SAMPLE_ROWS) -> pd.Series:
    """Up to ``n`` filled values, evenly spread over the column, normalised."""
    if len(values) > 4 * n:
        values = values.iloc[np.linspace(0, len(values) - 1, 4 * n).astype(np.int64)]
    text = normalize_text(values.astype("string")).dropna()
    if len(text) > n:
        text = text.iloc[np.linspace(0, len(text) - 1, n).astype(np.int64)]
    return text


@dataclass(frozen=True)
class _TimeStats:
    column: str
    filled: float
    parsed: float
    with_hours: float

    @property
    def full(self) -> bool:
        return self.parsed >= _MIN_TIME_PARSE and self.with_hours > 0.0


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_HAS_MONTH_NAME = re.compile(r"(?i)\b(?:" + "|".join(_MONTHS) + r")[a-z]*\.?\b")


def rewrite_month_names(values: pd.Series) -> pd.Series:
    """``"Mar 1, 2024 1:00 PM"`` / ``"1 March 2024 13:00"`` → ``"2024-03-01 1:00 PM"`` (vectorised, per month)."""
    out = values.astype("string")
    for i, m in enumerate(_MONTHS, start=1):
        name = rf"{m}[a-z]*\.?"
        out = out.str.replace(rf"(?i)^\s*{name}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})", rf"\2-{i:02d}-\1",
                              regex=True)
        out = out.str.replace(rf"(?i)^\s*(\d{{1,2}})(?:st|nd|rd|th)?[\s-]+{name}[\s,-]+(\d{{4}})", rf"\2-{i:02d}-\1",
                              regex=True)
    return out


def _has_month_names(values: pd.Series) -> bool:
    s = _sample(values, 200)
    return bool(len(s)) and float(s.str.contains(_HAS_MONTH_NAME).fillna(False).mean()) > 0.5


def _time_stats(frame: pd.DataFrame, col: str, tz: str, time_format: str | None) -> _TimeStats:
    s = _sample(frame[col])
    if _has_month_names(s):
        s = rewrite_month_names(s)
    if s.empty:
        return _TimeStats(col, 0.0, 0.0, 0.0)
    p = parse_times(s.reset_index(drop=True), tz=tz, time_format=time_format)
    ok = p.ok.to_numpy()
    parsed = float(ok.mean())
    if not ok.any():
        return _TimeStats(col, len(s) / max(len(frame), 1), 0.0, 0.0)
    local = p.times[ok].dt.tz_convert(tz)
    hours = ((local.dt.hour != 0) | (local.dt.minute != 0) | (local.dt.second != 0)).to_numpy()
    return _TimeStats(col, min(1.0, len(s) / max(min(len(frame), SAMPLE_ROWS), 1)), parsed, float(hours.mean()))


def _time_of_day_share(frame: pd.DataFrame, col: str) -> float:
    s = _sample(frame[col], 500)
    if s.empty:
        return 0.0
    return float(s.str.match(_TIME_OF_DAY).fillna(False).mean())


def _hour_share(frame: pd.DataFrame, col: str) -> float:
    """Share of values that are whole hours 0..23 (a column named like ``hour``)."""
    if not _HOUR_HEADER.search(header_key(col)[1]):
        return 0.0
    s = pd.to_numeric(_sample(frame[col], 500), errors="coerce")
    if s.empty:
        return 0.0
    return float(((s >= 0) & (s <= 23) & (s == s.round())).mean())


def _numbers(frame: pd.DataFrame, col: str) -> pd.Series:
    s = _sample(frame[col])
    return pd.to_numeric(s.str.replace(",", ".", regex=False), errors="coerce")


def split_location(values: pd.Series, order: str | None = None) -> tuple[pd.Series, pd.Series, str]:
    """Split one location column into lon and lat text.

    ``POINT (lon lat)`` is always lon-first; ``"(lat, lon)"``, ``"116.36,39.91"``
    are read in ``order`` (``"lon,lat"``/``"lat,lon"``); without one the order is
    decided by the whole column (a first number beyond ±90 is a longitude),
    else parenthesised pairs are ``lat,lon`` (the Socrata convention) and bare
    pairs ``lon,lat`` (the Chinese 经纬度 convention).

    Returns
    -------
    lon, lat : string Series (missing where a value is not a pair)
    order : the order used for the non-POINT values
    """
    text = values.astype("string")
    norm = normalize_text(text)
    m = norm.str.extract(_PAIR)
    a = pd.to_numeric(m["a"], errors="coerce")
    b = pd.to_numeric(m["b"], errors="coerce")
    if order is None:
        if (a.abs() > 90).any() and not (b.abs() > 90).any():
            order = "lon,lat"
        elif (b.abs() > 90).any() and not (a.abs() > 90).any():
            order = "lat,lon"
        else:
            paren = norm.str.startswith("(").fillna(False).mean() > 0.5
            order = "lat,lon" if paren else "lon,lat"
    first, second = (m["a"], m["b"]) if order == "lon,lat" else (m["b"], m["a"])
    lon = m["px"].fillna(first).astype("string")
    lat = m["py"].fillna(second).astype("string")
    return lon, lat, order


def _pair_share(frame: pd.DataFrame, col: str) -> float:
    s = _sample(frame[col], 500)
    if s.empty:
        return 0.0
    return float(s.str.match(_PAIR).fillna(False).mean())


# --------------------------------------------------------------------------- resolution

def _matches(header: str, names: Sequence[str]) -> bool:
    full, base = header_key(header)
    keys = {header_key(n)[0] for n in names}
    return full in keys or base in keys


def resolve_mapping(frame: pd.DataFrame, source: str, mapping: Mapping | None = None, *, tz: str = "Asia/Shanghai",
                    crs: str | None = None, crs_is_geographic: bool = True,
                    file: str | None = None) -> MappingResult:
    """Choose the source column(s) of every field of one raw table.

    Parameters
    ----------
    frame
        ``RawTable.frame`` (text columns plus ``_row``).
    source
        One of :data:`geo.settings.SOURCES`.
    mapping
        A parsed mapping file; its choices win and are not second-guessed
        (except that they must name existing columns).
    tz
        Time zone for judging time columns (the file's, else the workspace's).
    crs, crs_is_geographic
        The coordinate system that will be applied and whether it is in
        degrees; projected-looking x/y under a geographic CRS stop the ingest.
    file
        File name for messages.

    Returns
    -------
    MappingResult

    Raises
    ------
    MappingError
        A required field has no usable column, two time columns are equally
        good, the only category column does not hold categories, x/y are
        projected but no projected CRS was given.
    InputFileError
        The mapping file names a column the file does not have.
    """
    headers = [h for h in frame.columns if h not in ("_row", SHEET_COLUMN) and not str(h).startswith(COMPOSED_PREFIX)]
    mapping = mapping or Mapping()
    tz = mapping.timezone or tz
    time_format = mapping.time_format
    choices: dict[str, FieldChoice] = {}
    warnings: list[str] = []
    problems: list[str] = []
    open_fields: dict[str, list[str]] = {}

    # 1. the mapping file
    def resolve(name: str, fld: str) -> str:
        if name in headers:
            return name
        hits = [h for h in headers if header_key(h)[0] == header_key(name)[0]]
        if hits:
            return hits[0]
        where = f" in {mapping.path}" if mapping.path else ""
        raise InputFileError(f"the mapping{where} says {fld} = {name!r}, but the file has no such column; its "
                             f"columns are: {', '.join(repr(h) for h in headers)}", file=file)

    used: set[str] = set()
    for f, col in mapping.columns.items():
        if col:
            h = resolve(col, f)
            choices[f] = FieldChoice(f, (h,), "mapping file")
            used.add(h)
    for f, cols in mapping.composed.items():
        hs = tuple(resolve(c, f) for c in cols)
        choices[f] = FieldChoice(f, hs, "mapping file", note="joined")
        used.update(hs)
    for f, value in mapping.constants.items():
        choices[f] = FieldChoice(f, (), "constant", constant=value)
    location, location_order = None, mapping.location_order
    if mapping.location:
        location = resolve(mapping.location, "location")
        used.add(location)
        _, _, location_order = split_location(frame[location].iloc[:SAMPLE_ROWS], location_order)
        for f in ("lon", "lat"):
            choices[f] = FieldChoice(f, (location,), "mapping file", note=f"split from {location!r} ({location_order})")
    disabled = {f for f, col in mapping.columns.items() if col == ""}

    # 2. synonyms propose, 3. content decides
    rest = [h for h in headers if h not in used]
    cm = map_columns(rest, source, Mapping(columns={f: "" for f in (*choices, *disabled)}), file=file, require=False)
    cands: dict[str, list[str]] = {f: list(cm.ambiguous.get(f, [cm.fields[f]] if f in cm.fields else []))
                                   for f in FIELDS}

    if len(frame) == 0:  # nothing to judge: the names decide
        for f, h in cm.fields.items():
            choices[f] = FieldChoice(f, (h,), "synonym", 0.0, note="no rows to check")
        cands = {f: [] for f in FIELDS}

    # -- time ----------------------------------------------------------------
    if "occurred_at" not in choices and "occurred_at" not in disabled and len(frame):
        _choose_time(frame, rest, cands["occurred_at"], tz, time_format, choices, warnings, problems, open_fields)
    for f in ("occurred_at", "closed_at"):
        if f in choices:
            used.update(choices[f].columns)

    # -- location column (a single column of pairs) ---------------------------
    if location is None and not ({"lon", "lat"} & set(choices)) and not ({"lon", "lat"} & disabled) and len(frame):
        pair_cols = [h for h in rest if h not in used and (_matches(h, _LOCATION_HEADERS) or h in cands["address"])]
        pair_cols = [h for h in pair_cols if _pair_share(frame, h) >= _MIN_LOCATION]
        have_xy = bool(cands["lon"]) and bool(cands["lat"])
        if pair_cols and not have_xy:
            location = pair_cols[0]
            share = _pair_share(frame, location)
            _, _, location_order = split_location(frame[location].iloc[:SAMPLE_ROWS], location_order)
            used.add(location)
            for f in ("lon", "lat"):
                choices[f] = FieldChoice(f, (location,), "content", share,
                                         note=f"split from {location!r} ({location_order})")
            if location in cands["address"]:
                warnings.append(f"column {location!r} is named like an address but holds coordinate pairs; "
                                f"read as the location ({location_order})")
            cands["address"] = [h for h in cands["address"] if h != location]

    # -- coordinates -------------------------------------------------------------
    if location is None:
        for f, extra in (("lon", _X_HEADERS), ("lat", _Y_HEADERS)):
            if f not in choices and f not in disabled and not cands[f]:
                cands[f] = [h for h in rest if h not in used and _matches(h, extra)]
        _choose_xy(frame, cands, choices, used, crs, crs_is_geographic, warnings, problems, open_fields)

    # -- id, category, the rest -----------------------------------------------------
    for f in FIELDS:
        if f in choices or f in disabled or f in ("occurred_at", "lon", "lat"):
            continue
        pool = [h for h in cands[f] if h not in used]
        if not pool:
            continue
        if f == "source_id":
            _choose_id(frame, pool, choices, warnings)
        elif f == "category_raw":
            _choose_category(frame, pool, choices, warnings, problems, open_fields)
        else:
            runner = pool[1] if len(pool) > 1 else None
            choices[f] = FieldChoice(f, (pool[0],), "synonym", _fill(frame, pool[0]), runner)
            if runner:
                warnings.append(f"{f}: used {pool[0]!r}; {runner!r} also matched by name (not used)")
        if f in choices:
            used.update(choices[f].columns)

    # -- required -------------------------------------------------------------------
    for f in REQUIRED:
        if f not in choices and f not in open_fields:
            problems.append(f"no column for {f} — {FIELD_LABELS[f]}; name it in the mapping file "
                            f"(or give a constant under [constants])")
            open_fields[f] = []
    has_xy = "lon" in choices and "lat" in choices
    if not has_xy and "address" not in choices and not {"lon", "lat", "address"} & set(open_fields):
        problems.append("no location: the file needs longitude+latitude columns, one location column "
                        "('(lat, lon)', 'POINT (lon lat)', '116.36,39.91') or an address column")
        for f in ("lon", "lat", "address"):
            open_fields[f] = []

    used_all = {c for ch in choices.values() for c in ch.columns}
    result = MappingResult(choices={f: choices[f] for f in FIELDS if f in choices}, location=location,
                           location_order=location_order if location else None,
                           unmapped=[h for h in headers if h not in used_all], warnings=warnings, source=source,
                           timezone=mapping.timezone, crs=crs if crs and not crs_is_geographic else mapping.crs)
    if problems:
        raise MappingError(problems, result.to_toml(open_fields), file=file)
    return result


def _fill(frame: pd.DataFrame, col: str) -> float:
    return float(frame[col].notna().mean()) if len(frame) else 0.0


def _choose_time(frame: pd.DataFrame, rest: list[str], named: list[str], tz: str, time_format: str | None,
                 choices: dict[str, FieldChoice], warnings: list[str], problems: list[str],
                 open_fields: dict[str, list[str]]) -> None:
    """Pick the event time: the named candidates, by parse rate and hours; compose date + time."""
    closed = set(map_columns(rest, "patrol", require=False).ambiguous.get("closed_at", [])) | {
        h for h in rest if _matches(h, ("办结时间", "closed_date", "closed", "resolved_date", "completed_date"))}
    keyword = [h for h in rest if h not in named and _TIME_WORDS.search(header_key(h)[1])
               and not _HOUR_HEADER.search(header_key(h)[1])]
    pool = [h for h in (*named, *keyword) if h not in closed]
    if not pool:
        return
    stats = [_time_stats(frame, h, tz, time_format) for h in pool]
    usable = [s for s in stats if s.parsed >= _MIN_TIME_PARSE]
    full = [s for s in usable if s.full]
    if full:
        best = full[0]  # the synonym order breaks ties between full instants
        others = [s.column for s in usable if s is not best]
        note = "" if best is stats[0] else f"chosen over {stats[0].column!r} by content"
        if best is not stats[0]:
            s0 = stats[0]
            why = "has no hours (date only)" if s0.parsed >= _MIN_TIME_PARSE else f"parses only {s0.parsed:.0%}"
            warnings.append(f"occurred_at: {s0.column!r} matched first by name but {why}; using "
                            f"{best.column!r} (a full date and time)")
        elif others:
            warnings.append(f"occurred_at: used {best.column!r}; runner-up {others[0]!r} (not used)")
        if _has_month_names(frame[best.column]):
            note = (note + "; month names").lstrip("; ")
        choices["occurred_at"] = FieldChoice("occurred_at", (best.column,),
                                             "synonym" if best.column in named else "content",
                                             best.parsed, others[0] if others else None, note)
        return
    if usable:
        date = usable[0]
        clock = [h for h in rest if h not in {u.column for u in usable} and h not in closed
                 and (_time_of_day_share(frame, h) >= _MIN_TIME_PARSE or _hour_share(frame, h) >= _MIN_TIME_PARSE)]
        if clock:
            warnings.append(f"occurred_at: {date.column!r} holds dates only; joined with {clock[0]!r} "
                            "for the time of day")
            choices["occurred_at"] = FieldChoice(
                "occurred_at", (date.column, clock[0]), "content", date.parsed,
                clock[1] if len(clock) > 1 else None,
                "date + hour" if _hour_share(frame, clock[0]) >= _MIN_TIME_PARSE else "date + time")
            return
        warnings.append(f"occurred_at: {date.column!r} holds dates only (no time of day); every event is "
                        "placed at 00:00 local time")
        choices["occurred_at"] = FieldChoice("occurred_at", (date.column,), "synonym", date.parsed,
                                             usable[1].column if len(usable) > 1 else None, "date only: no hours")
        return
    readable = sorted((s for s in stats if s.parsed >= _MIN_TIME_PARSE_ANY), key=lambda s: -s.parsed)
    if readable:
        best = readable[0]
        warnings.append(f"occurred_at: {best.column!r} parses for only {best.parsed:.0%} of the sampled values; "
                        "the rest go to quarantine as time_unparseable (give time_format in a mapping file "
                        "if the format is known)")
        choices["occurred_at"] = FieldChoice("occurred_at", (best.column,), "synonym" if best is stats[0] else
                                             "content", best.parsed, readable[1].column if len(readable) > 1
                                             else None, "many values unreadable")
        return
    problems.append("occurred_at: no column parses as a date/time (" + ", ".join(
        f"{s.column!r} {s.parsed:.0%}" for s in stats) + "); give the column and its time_format")
    open_fields["occurred_at"] = [s.column for s in stats]


def _choose_xy(frame: pd.DataFrame, cands: dict[str, list[str]], choices: dict[str, FieldChoice], used: set[str],
               crs: str | None, crs_is_geographic: bool, warnings: list[str], problems: list[str],
               open_fields: dict[str, list[str]]) -> None:
    for f in ("lon", "lat"):
        if f in choices:
            continue
        pool = [h for h in cands[f] if h not in used]
        scored = []
        for h in pool:
            num = _numbers(frame, h)
            share = float(num.notna().mean()) if len(num) else 0.0
            scored.append((h, share, num))
        ok = [s for s in scored if s[1] >= 0.5]
        if not ok:
            if pool:
                warnings.append(f"{f}: {pool[0]!r} matched by name but holds no numbers (not used)")
            continue
        h, share, num = ok[0]
        limit = 180  # also for lat: a latitude of 116 is a swapped pair (fixed later), not metres
        projected = bool(len(num.dropna())) and float((num.dropna().abs() > limit).mean()) > 0.5
        raw = _sample(frame[h], 500)
        comma = float(raw.str.fullmatch(r"-?\d+,\d+").fillna(False).mean()) if len(raw) else 0.0
        note = "projected x/y" if projected else ""
        if comma > 0.5:
            note = ("comma decimals; " + note).rstrip("; ")
        choices[f] = FieldChoice(f, (h,), "synonym", share, ok[1][0] if len(ok) > 1 else None, note)
        used.add(h)
    proj = [f for f in ("lon", "lat") if f in choices and choices[f].note.endswith("projected x/y")]
    if proj and crs_is_geographic:
        cols = ", ".join(repr(choices[f].columns[0]) for f in proj)
        problems.append(f"coordinates: {cols} hold projected values (metres, e.g. easting/northing), but the "
                        f"coordinate system is {crs or 'geographic'}; give the projected CRS, e.g. --crs EPSG:27700 "
                        "(British National Grid) or crs = \"EPSG:xxxx\" under [options]")


def _choose_id(frame: pd.DataFrame, pool: list[str], choices: dict[str, FieldChoice], warnings: list[str]) -> None:
    for i, h in enumerate(pool):
        s = _sample(frame[h])
        fill = _fill(frame, h)
        unique = float(s.nunique() / len(s)) if len(s) else 0.0
        if fill >= _MIN_FILL and (unique >= _MIN_ID_UNIQUE or len(s) < 20):
            runner = pool[i + 1] if i + 1 < len(pool) else None
            choices["source_id"] = FieldChoice("source_id", (h,), "synonym" if i == 0 else "content",
                                               unique * fill, runner)
            return
        warnings.append(f"source_id: {h!r} is named like a record id but {unique:.0%} of its values are distinct "
                        f"and {fill:.0%} filled; not used as the id (rows are identified by their content)")


def _choose_category(frame: pd.DataFrame, pool: list[str], choices: dict[str, FieldChoice], warnings: list[str],
                     problems: list[str], open_fields: dict[str, list[str]]) -> None:
    reasons: dict[str, str] = {}
    for i, h in enumerate(pool):
        s = _sample(frame[h])
        fill = _fill(frame, h)
        why = ""
        if len(frame) == 0:
            why = ""
        elif fill < _MIN_FILL:
            why = f"only {fill:.0%} filled"
        else:
            ascii_vals = s[s.str.fullmatch(r"[A-Za-z.]+").fillna(False)]
            if len(ascii_vals) > 0.8 * len(s) and ascii_vals.str.len().mean() <= 2.6:
                why = "one- or two-letter abbreviations (" + ", ".join(s.value_counts().index[:3]) + ")"
            elif float(pd.to_numeric(s, errors="coerce").notna().mean()) > 0.9:
                why = "numbers"
        if why:
            reasons[h] = why
            continue
        runner = next((c for c in pool[i + 1:]), None)
        choices["category_raw"] = FieldChoice("category_raw", (h,), "synonym" if i == 0 else "content", fill, runner)
        for bad, w in reasons.items():
            warnings.append(f"category_raw: {bad!r} is named like a category but holds {w}; using {h!r}")
        if runner and not reasons:
            warnings.append(f"category_raw: used {h!r}; runner-up {runner!r} (not used)")
        return
    problems.append("category_raw: " + "; ".join(f"{h!r} is named like a category but holds {w}"
                                                 for h, w in reasons.items())
                    + " — name the category column, or set a constant category under [constants]")
    open_fields["category_raw"] = list(reasons)


# --------------------------------------------------------------------------- composition

def compose_frame(frame: pd.DataFrame, result: MappingResult) -> tuple[pd.DataFrame, ColumnMapping]:
    """The frame the pipeline reads, and the field → column mapping into it.

    Adds ``__gw_<field>`` columns for joined columns (a time's parts with a
    space, a category's or text's with ``" / "``), constants and the split
    location; the raw columns are left as they are.  No copy when nothing is
    composed.
    """
    extra: dict[str, pd.Series] = {}
    for ch in result.choices.values():
        name = _work_column(ch)
        if name in frame.columns:
            continue
        if ch.constant is not None:
            extra[name] = pd.Series(ch.constant, index=frame.index, dtype="string")
        elif ch.note.startswith(("split from", "comma decimals")):
            continue
        else:
            extra[name] = _join(frame, ch)
    for f in ("lon", "lat"):
        ch = result.choices.get(f)
        if ch is not None and ch.note.startswith("comma decimals"):
            extra[COMPOSED_PREFIX + f] = frame[ch.columns[0]].astype("string").str.replace(",", ".", regex=False)
    if result.location:
        lon, lat, _ = split_location(frame[result.location], result.location_order)
        extra[COMPOSED_PREFIX + "lon"], extra[COMPOSED_PREFIX + "lat"] = lon, lat
    cmap = result.column_mapping()
    if not extra:
        return frame, cmap
    return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1), cmap


def _join(frame: pd.DataFrame, ch: FieldChoice) -> pd.Series:
    parts = [normalize_text(frame[c].astype("string")) for c in ch.columns]
    if ch.field in ("occurred_at", "closed_at"):
        if "month names" in ch.note:
            parts[0] = rewrite_month_names(parts[0])
        first = parts[0]
        second = parts[1] if len(parts) > 1 else None
        if second is not None and ch.note == "date + hour":
            hour = pd.to_numeric(second, errors="coerce")
            second = (hour.astype("Int64").astype("string") + ":00").where(hour.notna())
        out = first
        for p in ([second] if second is not None else []) + parts[2:]:
            out = (out + " " + p).where(p.notna(), out)
        return out.astype("string")
    filled = pd.concat(parts, axis=1)
    out = filled.iloc[:, 0]
    for j in range(1, filled.shape[1]):
        p = filled.iloc[:, j]
        out = (out + " / " + p).where(out.notna() & p.notna(), out.fillna(p))
    return out.astype("string")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _q(str(v))


def mapping_with_columns(base: str | None, columns: dict[str, str]) -> str:
    """A mapping file's text with ``[columns]`` entries set (the intake page's column choices).

    Parameters
    ----------
    base
        The text of an existing mapping file (``None``: start empty); its
        other tables are kept.
    columns
        Field → column name to set (``""`` switches the field off).

    Returns
    -------
    str
        TOML that :func:`geo.ingest.columns.load_mapping` reads.
    """
    import tomllib

    doc: dict[str, Any] = tomllib.loads(base) if base else {}
    cols = dict(doc.get("columns", {}))
    cols.update(columns)
    if "location" in cols and {"lon", "lat"} & set(columns):
        del cols["location"]
    for f in columns:  # a column chosen for a field replaces a constant for it
        doc.get("constants", {}).pop(f, None)
    doc["columns"] = cols
    lines: list[str] = []
    for table in ("columns", "constants", "options", "categories"):
        body = doc.get(table)
        if body:
            lines.append(f"[{table}]")
            lines += [f"{_q(str(k)) if not re.fullmatch(r'[A-Za-z0-9_]+', str(k)) else k} = {_toml_value(v)}"
                      for k, v in body.items()]
            lines.append("")
    return "\n".join(lines)
