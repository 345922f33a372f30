"""Ingestion: a raw export in, every row stored or quarantined, counts reconciled.

The steps, each vectorised over the whole file:

1. read the file as text (:mod:`geo.ingest.readers`) and map its headers to the
   canonical fields (:mod:`geo.ingest.columns`);
2. parse times (:mod:`geo.ingest.timeparse`), map categories to the table of the
   workspace, normalise text;
3. locate: coordinates converted from the declared CRS to WGS84
   (:mod:`geo.grid.crs`), checked against the study area (a swapped lat/lon that
   lands inside is fixed and flagged), rows without coordinates geocoded
   against the standard-address gazetteer (:mod:`geo.ingest.geocode`);
4. protect personal data: phone/ID/plate hashed with the workspace salt and
   masked, free text scrubbed (:mod:`geo.privacy`);
5. index: H3 cells of the three tiers and the official grid of each tier;
6. de-duplicate on ``event_id`` against the file and the store, flag near
   duplicates, validate against the schema, write in ONE transaction.

``read == stored + duplicates + quarantined`` always holds; the report says
why each quarantined row was rejected.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo import privacy
from geo.errors import InputFileError, StoreError
from geo.grid import crs as gcrs
from geo.grid import h3cells
from geo.grid.officialgrids import LOOKUP_RES, locate_points
from geo.ingest.columns import ColumnMapping, load_mapping
from geo.ingest.layout import apply_layout, read_workbook
from geo.ingest.mapping import MappingResult, compose_frame, resolve_mapping
from geo.ingest.quarantine import (
    META_COLUMNS,
    is_quarantine_table,
    quarantine_frame,
    undo_bookkeeping,
    write_quarantine,
)
from geo.ingest.readers import RawTable
from geo.ingest.textnorm import from_arrow_strings, normalize_text, to_arrow_strings
from geo.ingest.timeparse import parse_times
from geo.settings import OTHER_CATEGORY, OTHER_WORDS, SOURCES, TIERS, Settings
from geo.store import audit
from geo.store.categories import category_code, register_categories
from geo.store.database import append_events, connect, existing_hashes, record_ingest
from geo.store.schema import conform_events, validate_events
from geo.store.workspace import Workspace, area_contains, metric_study_area

_log = logging.getLogger("gridwatch.ingest")

Progress = Callable[[str, float], None]
"""``progress(stage, fraction_done)``: called as an ingest advances."""

CLOSED_WORDS = ("已办结", "办结", "已处置", "已处理", "已完成", "已关闭", "已销号", "结案", "closed", "resolved",
                "completed")
_NEAR_DUP_LAGS = 8
_READER_REASONS = ("ragged_row", "broken_quote", "record_too_large", "footer_row")


@dataclass
class IngestReport:
    """What happened to every row of one file (``read = stored + duplicates + quarantined``).

    Duplicates are dropped only when exact (``duplicates_by_rule``): ``same_id_same_content`` (a
    repeated source id with the same content), ``same_whole_row`` (no id, and the whole normalised
    row — every column, mapped fields compared as parsed — repeats an earlier one) and
    ``already_in_store``.  Near duplicates (same source and category within
    ``ingest.near_duplicate_m`` metres and ``ingest.near_duplicate_s`` seconds) are stored, flagged
    ``near_duplicate`` and counted in ``near_duplicates``, never dropped.
    """

    file: str
    source: str
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    quarantine_file: str | None = None
    by_reason: dict[str, int] = field(default_factory=dict)
    ingest_id: str = ""
    crs: str = ""
    crs_from: str = ""
    encoding: str | None = None
    near_duplicates: int = 0
    duplicates_by_rule: dict[str, int] = field(default_factory=dict)
    other_categories: dict[str, int] = field(default_factory=dict)
    own_categories: dict[str, int] = field(default_factory=dict)
    new_categories: dict[str, dict[str, Any]] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    located_by: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    file_records: int | None = None
    """Data records in the file counted by the reader independently of its parser (None: not counted)."""
    file_lines: int | None = None
    """Physical lines of a text file."""
    blank_rows: int = 0
    """Empty records skipped (``read + blank_rows == file_records``)."""
    mapping: dict[str, Any] = field(default_factory=dict)
    mapping_lines: list[str] = field(default_factory=list)
    dry_run: bool = False
    preview: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file, "source": self.source, "read": self.read, "stored": self.stored,
            "duplicates": self.duplicates, "quarantined": self.quarantined,
            "quarantine_file": self.quarantine_file, "by_reason": dict(sorted(self.by_reason.items())),
            "ingest_id": self.ingest_id, "crs": self.crs, "crs_from": self.crs_from,
            "encoding": self.encoding,
            "near_duplicates": self.near_duplicates, "duplicates_by_rule": self.duplicates_by_rule,
            "other_categories": self.other_categories,
            "own_categories": self.own_categories, "new_categories": self.new_categories,
            "flags": self.flags, "located_by": self.located_by, "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "file_records": self.file_records, "file_lines": self.file_lines, "blank_rows": self.blank_rows,
            "matches_file": self.matches_file,
            "mapping": self.mapping,
            **({"dry_run": True, "preview": self.preview} if self.dry_run else {}),
        }

    @property
    def reconciles(self) -> bool:
        return self.read == self.stored + self.duplicates + self.quarantined

    @property
    def matches_file(self) -> bool:
        """``read + blank_rows`` equals the file's own record count (``True`` when it was not counted)."""
        return self.file_records is None or self.read + self.blank_rows == self.file_records


class Stopwatch:
    def __init__(self, progress: Progress | None) -> None:
        self.t = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.progress = progress

    def lap(self, stage: str, fraction: float) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.t
        self.t = now
        if self.progress is not None:
            self.progress(stage, fraction)


_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridwatch-sha256")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- field helpers -----------------------------------------------------------

def _col(frame: pd.DataFrame, mapping: ColumnMapping, name: str,
         rows: np.ndarray | None = None) -> pd.Series:
    """Normalised text of a canonical field (all-null when the file lacks it).

    ``rows``: positions to take first (one column is taken, not the whole frame).
    """
    header = mapping.fields.get(name)
    index = frame.index if rows is None else frame.index[rows]
    if header is None:
        return pd.Series(pd.NA, index=index, dtype="string")
    values = frame[header]
    if rows is not None:
        values = values.iloc[rows]
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("string")
    return normalize_text(values)


SCRUBBED_FIELDS: tuple[str, ...] = ("source_id", "category_raw", "text", "address", "status", "action",
                                    "reporter", "patrol_mode", "vehicle_type")
"""Canonical fields whose text is stored: scrubbed by :func:`scrub_fields` (the personal fields
``phone``/``id_number``/``plate`` are hashed and masked instead; times and coordinates are parsed)."""


def scrub_fields(frame: pd.DataFrame, columns: Mapping[str, Sequence[str]], salt: str) -> tuple[pd.DataFrame, int]:
    """The privacy pass of ingestion: every stored text field scrubbed with :func:`geo.privacy.scrub_frame`.

    Runs once on the raw table, before categories are mapped, addresses geocoded,
    ids built or anything is reported, so no later step (the stored events, the
    "kept as 'other'" list, report warnings, the scale store) can see a raw phone
    number, ID number or plate in :data:`SCRUBBED_FIELDS`.  Control characters
    are dropped from them too (an XLSX cannot hold them).  A record id that held
    personal data would become a masked id that different records could share,
    so it is replaced by ``pd-`` + 20 hex characters of its keyed hash
    (:func:`geo.privacy.hash_values`): still unique, still stable across
    re-ingests, no longer readable.

    Parameters
    ----------
    frame : DataFrame
        The raw table (the file's columns plus ``_row``).
    columns : mapping of str to sequence of str
        The raw column(s) each field is read from (several when joined).
    salt : str
        The workspace's salt, for the ids replaced by hashes.

    Returns
    -------
    (DataFrame, int)
        The scrubbed copy of ``frame`` (columns not in :data:`SCRUBBED_FIELDS` unchanged)
        and how many record ids were replaced.
    """
    cols = list(dict.fromkeys(c for f in SCRUBBED_FIELDS for c in columns.get(f, ()) if c in frame.columns))
    if not cols:
        return frame, 0
    out = privacy.scrub_frame(frame, cols)
    id_cols = [c for c in columns.get("source_id", ()) if c in frame.columns]
    id_col = id_cols[0] if len(id_cols) == 1 else None
    if not id_col:
        return out, 0
    before = frame[id_col].astype("string")
    changed = (out[id_col].astype("string") != before).fillna(False).to_numpy(dtype=bool)
    if changed.any():
        hashed = privacy.hash_values(before[changed], salt, kind="auto").str.slice(0, 20)
        ids = out[id_col].astype("string")
        ids[changed] = ("pd-" + hashed).to_numpy()
        out[id_col] = ids
    return out, int(changed.sum())


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Integer code of each value (-1 = missing) and the distinct values, in order of appearance.

    One Arrow hash pass; mapping a result computed on the distinct values back
    is then a numpy take instead of a per-row dictionary lookup.
    """
    enc = pc.dictionary_encode(to_arrow_strings(values))
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, pd.Series(enc.dictionary.to_pylist(), dtype="string")


def _decode(labels: np.ndarray | list[str | None], codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``string`` Series of ``labels[codes]`` (missing where the code is -1), built in Arrow."""
    taken = pc.take(pa.array(list(labels), type=pa.large_string()), pa.array(codes, mask=codes < 0))
    return pd.Series(pd.array(taken, dtype="string"), index=index)


def _to_float(values: pd.Series) -> np.ndarray:
    """Numbers from text; anything that is not a number becomes NaN (vectorised in polars)."""
    import polars as pl
    import pyarrow as pa

    arr = pa.array(values.astype("string"), type=pa.large_string(), from_pandas=True)
    return pl.from_arrow(arr).cast(pl.Float64, strict=False).to_numpy().astype(np.float64)


def _coordinate(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of a raw coordinate column and whether each row has (normalised) text.

    Plain numbers parse as they are; only the other values are normalised
    first (full-width digits, stray spaces), which gives the same numbers as
    normalising the whole column.
    """
    number = _to_float(values)
    has_text = values.notna().to_numpy().copy()
    odd = has_text & np.isnan(number)
    if odd.any():
        norm = normalize_text(values[odd].astype("string"))
        # a spreadsheet's text marker: '-95.11 (how exports escape a leading minus) is the number -95.11
        norm = norm.str.replace(r"^'(?=[-+]?[\d.])", "", regex=True)
        number[odd] = _to_float(norm)
        has_text[odd] = norm.notna().to_numpy()
    return number, has_text


def category_lookup(settings: Settings, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Raw value → category code: codes, labels, synonyms, words for "other", overrides."""
    table: dict[str, str] = dict.fromkeys(OTHER_WORDS, OTHER_CATEGORY)
    for cat in settings.categories:
        for raw in (cat.code, cat.label_zh, cat.label_en.lower(), cat.label, *cat.synonyms):
            if raw:
                table.setdefault(raw, cat.code)
    for raw, code in (overrides or {}).items():
        table[raw] = code
    return table


def map_categories(raw: pd.Series, settings: Settings,
                   overrides: dict[str, str] | None = None) -> pd.Series:
    """Category code of each raw value: the table's, else the workspace's own.

    A mapping file's value map wins, then the workspace's recorded raw values
    (``categories.toml``: its own categories and the merges a user made), then an
    exact match with the table (case-insensitive for Latin text), then the longest
    known synonym contained in the value (``违法停车（电动自行车）`` →
    ``illegal_parking``).  A value that matches nothing becomes a category of the
    workspace, coded :func:`geo.store.categories.category_code` of the value — never
    ``other`` (only a value or merge that says ``other`` lands there).  Works on the
    unique values only.
    """
    table = category_lookup(settings, overrides)
    raw_codes, uniques = _codes(raw)
    if uniques.empty:
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    lowered = uniques.str.lower()
    recorded = pd.Series(settings.category_values, dtype="string") if settings.category_values else None
    over = uniques.map(overrides or {}).fillna(lowered.map(overrides or {})) if overrides else \
        pd.Series(pd.NA, index=uniques.index, dtype="object")
    if recorded is not None:
        over = over.fillna(uniques.str.casefold().map(recorded))
    codes = over.fillna(uniques.map(table)).fillna(lowered.map(table))
    unmatched = codes.isna().to_numpy()
    if unmatched.any():
        # The longest key contained wins (the first of equal length): few values, many keys,
        # so a plain substring test per pair beats a vectorised pass per key.
        # (words for "other" match whole values only: "其他违法行为" is not "其他")
        by_length = sorted((k for k in table if k not in OTHER_WORDS or table[k] != OTHER_CATEGORY),
                           key=len, reverse=True)
        if unmatched.sum() <= len(by_length):
            keys = [(key.lower(), table[key]) for key in by_length]
            for i in np.flatnonzero(unmatched):
                value = lowered.iloc[i]
                codes.iloc[i] = next((code for key, code in keys if key in value), None)
        else:
            best_len = pd.Series(0, index=uniques.index)
            for key in by_length:
                hit = unmatched & (best_len < len(key)) & lowered.str.contains(key.lower(), regex=False)
                codes[hit] = table[key]
                best_len[hit] = len(key)
    missing = codes.isna().to_numpy()
    if missing.any():
        codes[missing] = [category_code(v) for v in uniques[missing]]
    return _decode(codes.to_numpy(dtype=object), raw_codes, raw.index)


def _own_categories(category: pd.Series, category_raw: pd.Series, alive: np.ndarray, settings: Settings
                    ) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """Events per workspace category and the categories this file adds (label, raw values, count)."""
    table_codes = {c.code for c in settings.categories} | {OTHER_CATEGORY}
    own = alive & ~category.isin(table_codes).fillna(True).to_numpy()
    if not own.any():
        return {}, {}
    pairs = pd.DataFrame({"code": category[own], "raw": category_raw[own]}).value_counts()
    counts = pairs.groupby(level="code").sum().sort_values(ascending=False, kind="stable")
    known = {c.code for c in settings.workspace_categories}
    new: dict[str, dict[str, Any]] = {}
    for code, count in counts.items():
        if code in known:
            continue
        raws = pairs.loc[code]  # sorted by count: the most common spelling labels it
        new[str(code)] = {"label": str(raws.index[0]), "values": sorted(str(v) for v in raws.index),
                          "count": int(count)}
    return {str(k): int(v) for k, v in counts.items()}, new


def closed_status(status: pd.Series) -> pd.Series:
    """Whether each status text means the case is closed (办结/已处置/已处理 …)."""
    status_codes, uniques = _codes(status)
    closed = pd.Series(False, index=uniques.index)
    lowered = uniques.str.lower()
    negations = lowered.str.contains("未") | lowered.str.contains("not ")
    for word in CLOSED_WORDS:
        closed |= lowered.str.contains(word, regex=False)
    closed &= ~negations
    table = closed.to_numpy(dtype=bool)
    out = table[np.maximum(status_codes, 0)] if len(table) else np.zeros(len(status), dtype=bool)
    return pd.Series(out & (status_codes >= 0), index=status.index)


_HASH_KEYS = ("gridwatchevents1", "gridwatchevents2")


def content_hashes(parts: dict[str, pd.Series]) -> pd.Series:
    """128-bit hash (hex) of the normalised fields of each row; stable across runs.

    Numbers and timestamps are hashed as numbers (no text formatting on the
    hot path); text as text, a missing value as its own token.  The value is
    ``pandas.util.hash_pandas_object(frame, index=False)`` under two keys,
    computed in one pass: each text column is dictionary-encoded once and its
    distinct values hashed under both keys; numbers do not depend on the key.
    """
    index = next(iter(parts.values())).index
    per_key: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for v in parts.values():
        if isinstance(v.dtype, pd.StringDtype):
            arr = to_arrow_strings(v).fill_null("\x00")
            enc = pc.dictionary_encode(arr)
            uniques = enc.dictionary.to_numpy(zero_copy_only=False)
            codes = enc.indices.to_numpy(zero_copy_only=False)
            for key, out in zip(_HASH_KEYS, per_key, strict=True):
                out.append(pd.util.hash_array(uniques, hash_key=key, categorize=False)[codes]
                           if len(uniques) else np.zeros(0, dtype=np.uint64))
        else:
            h = pd.util.hash_array(v.to_numpy(), categorize=False)  # the key only affects text
            for out in per_key:
                out.append(h)
    a, b = (_combine_hashes(h, len(index)) for h in per_key)
    return pd.Series(_hex_strings(a, b), index=index, dtype="string")


def whole_row_hashes(frame: pd.DataFrame, unmapped: list[str], rows: np.ndarray, content: pd.Series) -> pd.Series:
    """Hash of whole rows: the content hash of their mapped fields and the normalised text of the others.

    Parameters
    ----------
    frame : DataFrame
        The raw table.
    unmapped : list of str
        Its columns that no canonical field uses.
    rows : ndarray of int
        Positions of the rows to hash.
    content : Series
        :func:`content_hashes` of those rows (same order).

    Returns
    -------
    Series of 32-character hex strings, indexed like ``content``.  With no unmapped column
    it is a function of the content hash alone (equal contents, equal hashes).
    """
    if not unmapped:
        return content
    parts = {"content": pd.Series(content.to_numpy(), index=content.index, dtype="string")}
    for i, col in enumerate(unmapped):
        values = frame[col].iloc[rows]
        if not isinstance(values.dtype, pd.StringDtype):
            values = values.astype("string")
        parts[f"c{i}"] = pd.Series(normalize_text(values).to_numpy(), index=content.index, dtype="string")
    return content_hashes(parts)


def _combine_hashes(arrays: list[np.ndarray], n: int) -> np.ndarray:
    """pandas' row hash of a frame from its column hashes (CPython's tuple hash)."""
    if not arrays:
        return np.full(n, 0x345678 + 97531, dtype=np.uint64)
    mult = np.uint64(1000003)
    out = np.zeros(n, dtype=np.uint64) + np.uint64(0x345678)
    for i, a in enumerate(arrays):
        inverse_i = len(arrays) - i
        out ^= a
        out *= mult
        mult += np.uint64(82520 + inverse_i + inverse_i)
    out += np.uint64(97531)
    return out


# the two ASCII hex digits of each byte value, as one little-endian uint16 (first digit low)
_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype="<u2")


def _hex_strings(*words: np.ndarray) -> pd.arrays.ArrowStringArray:
    """Lower-case hex of each row of uint64 words, concatenated (16 characters a word).

    Built as one Arrow string buffer: a two-digit lookup per big-endian byte.
    """
    n = len(words[0])
    by = np.stack([np.ascontiguousarray(w, dtype=">u8").view(np.uint8).reshape(n, 8) for w in words],
                  axis=1).reshape(n, 8 * len(words))
    chars = _HEX_PAIRS[by].view(np.uint8)  # (n, 16 * words) ASCII
    width = chars.shape[1]
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    arr = pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets),
                                                       pa.py_buffer(chars.reshape(-1))])
    return pd.array(arr, dtype="string")


def hex64(values: np.ndarray) -> np.ndarray:
    """16-character lower-case hex of each uint64."""
    return np.asarray(_hex_strings(np.asarray(values, dtype=np.uint64)), dtype="<U16")


def near_duplicate_mask(source: pd.Series, category: pd.Series, t: pd.Series, x: np.ndarray,
                        y: np.ndarray, metres: float, seconds: float) -> np.ndarray:
    """Rows that repeat an earlier row of the same source and category within metres/seconds.

    Vectorised: rows are sorted by (source, category, time) and compared with
    the previous few rows (lags), which finds every pair inside the window
    unless more than a handful of same-category events fall in two minutes.
    """
    n = len(t)
    if n < 2:
        return np.zeros(n, dtype=bool)
    # one integer per (source, category) pair, without building strings
    src_codes, _ = pd.factorize(source)
    cat_codes, cat_uniques = pd.factorize(category)
    key = src_codes.astype(np.int64) * (len(cat_uniques) + 1) + cat_codes
    ts = t.astype("int64").to_numpy() / 1e6  # µs → s
    order = np.lexsort((ts, key))
    k, s, xs, ys = key[order], ts[order], x[order], y[order]
    dup_sorted = np.zeros(n, dtype=bool)
    # Sorted by key then time, a row whose lag-L predecessor is another key or too early has no
    # partner at any larger lag either: each lag only looks at the rows the previous one kept.
    rows = np.arange(1, n)
    for lag in range(1, min(_NEAR_DUP_LAGS, n - 1) + 1):
        rows = rows[rows >= lag]
        prev = rows - lag
        rows = rows[(k[rows] == k[prev]) & (s[rows] - s[prev] <= seconds)]
        if rows.size == 0:
            break
        prev = rows - lag
        dup_sorted[rows[np.hypot(xs[rows] - xs[prev], ys[rows] - ys[prev]) <= metres]] = True
    out = np.zeros(n, dtype=bool)
    out[order] = dup_sorted
    return out


# --- the pipeline ------------------------------------------------------------

@dataclass
class _Rejects:
    parts: list[pd.DataFrame] = field(default_factory=list)

    def add(self, raw: pd.DataFrame, mask: np.ndarray | pd.Series, reason: str, message: str | pd.Series,
            column: str | None, source_file: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        idx = raw.index[mask]
        msg = message.loc[idx] if isinstance(message, pd.Series) else message
        self.parts.append(quarantine_frame(raw, idx, reason, msg, column, source_file))

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.parts) if self.parts else pd.DataFrame()


@dataclass
class Located:
    """Where each row is: WGS84 lon/lat, how it was placed, or why it could not be."""

    lon: np.ndarray
    lat: np.ndarray
    method: np.ndarray   # coordinates / swap_fixed / geocoded_<how> / ""
    reason: np.ndarray   # "" or a quarantine reason code
    message: np.ndarray
    zero: np.ndarray
    finite: np.ndarray
    has_text: np.ndarray
    x: np.ndarray | None = None   # metric coordinates of the rows placed by coordinates (else NaN)
    y: np.ndarray | None = None


def _area_contains_xy(ws: Workspace, lon: np.ndarray, lat: np.ndarray, buffer_m: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`geo.store.workspace.area_contains`, also returning the metric x/y it computed."""
    x, y = gcrs.to_metric(np.asarray(lon, float), np.asarray(lat, float), crs=ws.settings.metric_crs)
    area_m = metric_study_area(shapely.to_wkb(ws.area), ws.settings.metric_crs, float(buffer_m))
    ok = np.isfinite(x) & np.isfinite(y)
    out = np.zeros(len(x), dtype=bool)
    out[ok] = shapely.contains_xy(area_m, x[ok], y[ok])
    return out, x, y


_CRS_CANDIDATES = (gcrs.WGS84, gcrs.GCJ02, gcrs.BD09, gcrs.CGCS2000, "EPSG:3857", "EPSG:4546", "EPSG:4547",
                   "EPSG:4548", "EPSG:4549", "EPSG:4550")
"""Coordinate systems tried when the given one puts (almost) every point outside the study area: the four
geographic ones of Chinese exports, Web Mercator and CGCS2000 3-degree Gauss-Kruger zones (CM 111-123 E)."""


def _stop_if_crs_misplaces_all(ws: Workspace, x: np.ndarray, y: np.ndarray, crs_name: str, *, n_inside: int,
                               buffer_m: float) -> None:
    """Stop with the likely coordinate systems when ``crs_name`` puts 90 %+ of 3+ points outside the area.

    A wrong ``--crs`` (or source default) must not quietly send every row to the address fallback or the
    quarantine: the file is refused, naming the systems that do place most points inside.
    """
    n = len(x)
    if n < 3 or n_inside > 0.1 * n:
        return
    take = np.linspace(0, n - 1, min(n, 500)).astype(int)
    fits: list[tuple[float, str]] = []
    for cand in _CRS_CANDIDATES:
        if cand == crs_name:
            continue
        try:
            with np.errstate(all="ignore"):
                cl, ca = gcrs.to_wgs84(x[take], y[take], cand)
                ok = np.isfinite(cl) & np.isfinite(ca)
                share = float(area_contains(ws, np.where(ok, cl, 0.0), np.where(ok, ca, 0.0), buffer_m)[ok].sum()
                              / len(take))
        except (ValueError, RuntimeError, ArithmeticError):
            continue
        if share >= 0.5:
            fits.append((share, cand))
    fits.sort(reverse=True)
    if fits:
        likely = ", ".join(f"{c} ({share:.0%} inside)" for share, c in fits[:3])
        hint = f"the coordinates fit {likely}; pass --crs {fits[0][1]} (or set the source's CRS in the mapping)"
    else:
        hint = ("none of " + ", ".join(_CRS_CANDIDATES) + " places them inside either: check that the file "
                "belongs to this workspace's area and that the longitude/latitude columns are the right ones")
    raise InputFileError(f"with the coordinate system {crs_name}, {n - n_inside} of {n} points fall outside the "
                         f"study area; {hint}")


def locate_rows(ws: Workspace, lon_text: pd.Series, lat_text: pd.Series, address: pd.Series, crs_name: str,
                alive: np.ndarray) -> Located:
    """Place rows: convert coordinates, check the study area, fix certain swaps, geocode the rest.

    ``lon_text``/``lat_text`` are the raw coordinate columns (normalised where
    they are not plain numbers); ``address`` is normalised text.

    A row whose coordinates are missing, zero, invalid or outside the area is
    geocoded from its address when it has one; if that fails too, the row is
    rejected with the coordinate problem as the reason (``address_not_located``
    only for rows that never had coordinates) and both problems in the message.
    """
    settings = ws.settings
    n = len(lon_text)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    mx, my = np.full(n, np.nan), np.full(n, np.nan)
    method = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    message = np.full(n, "", dtype=object)
    (lon_raw, has_lon), (lat_raw, has_lat) = _coordinate(lon_text), _coordinate(lat_text)
    has_text = has_lon | has_lat
    finite = np.isfinite(lon_raw) & np.isfinite(lat_raw)
    zero = finite & ((lon_raw == 0) | (lat_raw == 0))
    has_address = address.notna().to_numpy()
    geographic = _is_geographic(crs_name)
    buffer_m = settings.ingest.area_buffer_m

    def problem(mask: np.ndarray, code: str, text: str | np.ndarray) -> None:
        mask = mask & (reason == "")
        reason[mask] = code
        message[mask] = text if isinstance(text, str) else text[mask]

    problem(alive & has_text & ~finite, "coords_invalid",
            "longitude/latitude are not numbers; write decimal degrees like 116.3972")
    problem(alive & zero, "coords_zero", "coordinates are 0 (the device had no fix)")
    problem(alive & ~has_text, "coords_missing", "the row has no coordinates")
    if geographic:
        out_range = alive & finite & ~zero & ~((np.abs(lat_raw) <= 90) & (np.abs(lon_raw) <= 180)) & \
            ~((np.abs(lon_raw) <= 90) & (np.abs(lat_raw) <= 180))
        problem(out_range, "coords_invalid", "coordinates are outside -180..180 / -90..90 degrees")
    idx = np.flatnonzero(alive & (reason == ""))
    if len(idx):
        wl, wa = gcrs.to_wgs84(lon_raw[idx], lat_raw[idx], crs_name)
        inside, wx, wy = _area_contains_xy(ws, wl, wa, buffer_m)
        mx[idx[inside]], my[idx[inside]] = wx[inside], wy[inside]  # reused for near duplicates
        lon[idx[inside]], lat[idx[inside]] = wl[inside], wa[inside]
        method[idx[inside]] = "coordinates"
        out = idx[~inside]
        if len(out) and geographic:
            # A swap is fixed only when the swapped point lands in the study area.
            sl, sa = gcrs.to_wgs84(lat_raw[out], lon_raw[out], crs_name)
            swap_ok = area_contains(ws, sl, sa, buffer_m)
            lon[out[swap_ok]], lat[out[swap_ok]] = sl[swap_ok], sa[swap_ok]
            method[out[swap_ok]] = "swap_fixed"
            out = out[~swap_ok]
        _stop_if_crs_misplaces_all(ws, lon_raw[idx], lat_raw[idx], crs_name, n_inside=len(idx) - len(out),
                                   buffer_m=buffer_m)
        if len(out):
            outside = np.zeros(n, dtype=bool)
            outside[out] = True
            text = np.full(n, "", dtype=object)
            text[out] = [f"point ({a:.6f}, {b:.6f}) in {crs_name} is outside the study area (+{buffer_m:g} m); "
                         "check the coordinate system (--crs) or that the row belongs to this area"
                         for a, b in zip(lon_raw[out], lat_raw[out], strict=True)]
            problem(outside, "outside_area", text)
    # Rows with a problem but an address: the address may still place them.
    try_address = alive & (reason != "") & has_address
    if try_address.any():
        gidx = np.flatnonzero(try_address)
        located, gmsg = _geocode(ws, address.iloc[gidx])
        ok = located["method"].to_numpy() != "none"
        lon[gidx[ok]] = located["lon"].to_numpy()[ok]
        lat[gidx[ok]] = located["lat"].to_numpy()[ok]
        method[gidx[ok]] = "geocoded_" + located["method"].to_numpy()[ok].astype(object)
        reason[gidx[ok]] = ""
        message[gidx[ok]] = ""
        failed = gidx[~ok]
        had_coords = has_text[failed]
        message[failed] = np.where(had_coords, message[failed].astype(str) + "; and " + gmsg[~ok].astype(str),
                                   gmsg[~ok].astype(str))
        reason[failed] = np.where(had_coords, reason[failed], "address_not_located")
    no_address = alive & (reason == "coords_missing") & ~has_address
    message[no_address] = "the row has neither coordinates nor an address; add 经度/纬度 or 地址"
    return Located(lon, lat, method, reason, message, zero, finite, has_text, mx, my)


@lru_cache(maxsize=4)
def _road_tree(path: str, mtime: float, metric_crs: str) -> shapely.STRtree:
    from geo.grid.roads import read_roads

    roads = read_roads(path).to_crs(metric_crs)
    return shapely.STRtree(roads.geometry.values)


def check_declared_crs(ws: Workspace, lon: np.ndarray, lat: np.ndarray, crs_name: str,
                       sample: int = 500) -> str | None:
    """Warn when points sit far closer to the roads if read in another Chinese CRS.

    GCJ-02 data declared as WGS84 lands ~500 m off but usually still inside
    the district, so no single row can be caught; the file as a whole can: the
    median distance to the nearest road drops sharply under the right
    reading.  Needs the workspace's road file; returns the warning or ``None``.
    """
    path = ws.paths.get("roads")
    if path is None or not path.exists() or len(lon) < 30:
        return None
    idx = np.random.default_rng(0).choice(len(lon), size=min(sample, len(lon)), replace=False)
    idx.sort()
    lon, lat = lon[idx], lat[idx]
    tree = _road_tree(str(path), path.stat().st_mtime, ws.settings.metric_crs)

    def median_distance(x_lon: np.ndarray, x_lat: np.ndarray) -> float:
        x, y = gcrs.to_metric(x_lon, x_lat, ws.settings.metric_crs)
        _, dist = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
        return float(np.median(dist))

    declared = median_distance(lon, lat)
    # Undo the declared conversion, then read the raw numbers in each alternative system.
    raw_lon, raw_lat = gcrs.from_wgs84(lon, lat, crs_name)
    best_name, best = None, declared
    for alt in (gcrs.WGS84, gcrs.GCJ02, gcrs.BD09):
        if alt == crs_name or (alt == gcrs.WGS84 and crs_name == gcrs.CGCS2000):
            continue
        d = median_distance(*gcrs.to_wgs84(raw_lon, raw_lat, alt))
        if d < best:
            best_name, best = alt, d
    if best_name is not None and declared > 25.0 and best < 0.5 * declared:
        return (f"coordinates look like {best_name}, not {crs_name}: read as {best_name} the points lie a median "
                f"{best:.0f} m from the nearest road instead of {declared:.0f} m. If the export comes from "
                f"{'Amap/Tencent' if best_name == gcrs.GCJ02 else 'Baidu' if best_name == gcrs.BD09 else 'GPS'}, "
                f"re-ingest with --crs {best_name}")
    return None


@dataclass(frozen=True)
class FileContext:
    """How one file is read: its coordinate system (and where that came from), time zone, units."""

    crs_name: str
    crs_from: str
    timezone: str
    geographic: bool


def file_context(raw: RawTable, source: str, settings: Settings, *, crs: str | None = None,
                 mapping: Any = None) -> FileContext:
    """The CRS and time zone a file is read in: ``--crs``, the mapping file, the file's declaration, the workspace."""
    declared = crs or (mapping.crs if mapping else None) or raw.declared_crs or settings.source_crs[source]
    crs_name = gcrs.normalize_crs_name(declared)
    crs_from = ("--crs" if crs else "mapping file" if mapping and mapping.crs else
                "the file's declaration" if raw.declared_crs else
                f"workspace default for {source} (gridwatch.toml source_crs)")
    tz = (mapping.timezone if mapping else None) or settings.timezone
    return FileContext(crs_name, crs_from, tz, _is_geographic(crs_name))


def choose_columns(raw: RawTable, source: str, ws: Workspace, *, crs: str | None = None,
                   mapping_file: str | Path | None = None) -> MappingResult:
    """The column choice :func:`prepare_events` would make on ``raw`` (e.g. the head of a big file).

    A partitioned ingest makes it once per file and hands it to every chunk, so no chunk can
    pick another column for a field than the rest of its file.

    Raises
    ------
    MappingError
        No safe choice (see :func:`geo.ingest.mapping.resolve_mapping`).
    """
    settings = ws.settings
    mapping = load_mapping(mapping_file, [c.code for c in settings.categories]) if mapping_file else None
    frame = undo_bookkeeping(raw.frame) if is_quarantine_table(raw.frame.columns) else raw.frame
    ctx = file_context(raw, source, settings, crs=crs, mapping=mapping)
    return resolve_mapping(frame, source, mapping, tz=ctx.timezone, crs=ctx.crs_name,
                           crs_is_geographic=ctx.geographic, file=Path(raw.path).name)


def prepare_events(
    raw: RawTable,
    source: str,
    ws: Workspace,
    *,
    crs: str | None = None,
    mapping_file: str | Path | None = None,
    ingest_id: str = "",
    progress: Progress | None = None,
    columns: MappingResult | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, IngestReport]:
    """Turn one raw table into schema events and quarantine records (no store access).

    This is the per-file (and, at scale, per-partition) unit of ingestion.  ``columns``
    is the column choice made once for the whole file (:func:`choose_columns`) when
    ``raw`` is only a part of it; otherwise the columns are chosen on ``raw`` itself.

    Returns
    -------
    events : DataFrame in the event schema (``flags`` holds notes such as ``swap_fixed``)
    rejects : quarantine records
    report : counts so far (duplicates against the store are decided at write time)
    """
    if source not in SOURCES:
        raise InputFileError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    settings = ws.settings
    watch = Stopwatch(progress)
    mapping = load_mapping(mapping_file, [c.code for c in settings.categories]) if mapping_file else None
    time_format = mapping.time_format if mapping else None
    file_label = Path(raw.path).name  # a local absolute path has no business in files sent back
    frame = raw.frame
    requarantined = is_quarantine_table(frame.columns)
    if requarantined:  # a quarantine file sent back, fixed or not: the export it came from
        frame = undo_bookkeeping(frame)
    report = IngestReport(file=str(raw.path), source=source, ingest_id=ingest_id, encoding=raw.encoding)
    rejects = _Rejects()
    bad = raw.bad_rows.reset_index(drop=True)
    report.read = len(frame) + len(bad)
    if requarantined:
        report.warnings.append("a quarantine file: its bookkeeping columns (" + ", ".join(META_COLUMNS)
                               + ") are ignored and spreadsheet escapes (') undone")
    report.file_records, report.file_lines = raw.file_records, raw.file_lines
    report.blank_rows = raw.blank_rows + raw.blank_tail
    if not report.matches_file:
        report.warnings.append(f"the reader accounts for {report.read + report.blank_rows} record(s) but the file "
                               f"holds {report.file_records}; please report this file")
    if raw.blank_rows:
        report.warnings.append(f"{raw.blank_rows} empty row(s) skipped")
    report.warnings.extend(raw.notes)
    if len(bad):
        rejects.parts.append(pd.DataFrame({
            "source_file": file_label, "source_row": bad["_row"].astype("int64"),
            "reason": bad["reason"].where(bad["reason"].isin(_READER_REASONS), "unreadable_row"),
            "message": privacy.scrub_text(bad["detail"].astype("string").where(
                bad["reason"] != "ragged_row", bad["detail"].astype("string") + "; check quoting and delimiters")),
            "column": "", "raw_line": privacy.remove_control_chars(privacy.scrub_text(bad["text"].astype("string"))),
        }))

    ctx = file_context(raw, source, settings, crs=crs, mapping=mapping)
    crs_name, tz = ctx.crs_name, ctx.timezone
    report.crs, report.crs_from = crs_name, ctx.crs_from
    if columns is None:
        chosen = resolve_mapping(frame, source, mapping, tz=tz, crs=crs_name, crs_is_geographic=ctx.geographic,
                                 file=file_label)
    else:  # chosen once for the whole file (a chunk of a partitioned ingest)
        missing = [c for ch in columns.choices.values() for c in ch.columns if c not in frame.columns]
        if missing:
            raise InputFileError(f"column(s) {', '.join(map(repr, missing))} chosen for this file are missing "
                                 "from a part of it; check that every row has the same columns", file=file_label)
        chosen = columns
    # the one privacy pass, on the raw columns of every stored text field, before they are composed or used
    frame, replaced_ids = scrub_fields(frame, {f: ch.columns for f, ch in chosen.choices.items()}, ws.salt)
    if replaced_ids:
        report.warnings.append(f"{replaced_ids} record id(s) held a phone number, ID number or plate and "
                               "were replaced by keyed hashes (pd-…)")
    work, cmap = compose_frame(frame, chosen)
    report.mapping = chosen.to_dict()
    report.mapping_lines = chosen.describe()
    report.warnings.extend(chosen.warnings)

    def src(name: str) -> str | None:
        """The source column(s) of a field, as named in quarantine records."""
        ch = chosen.choices.get(name)
        return " + ".join(dict.fromkeys(ch.columns)) if ch is not None and ch.columns else None
    watch.lap("map_columns", 0.05)

    # -- times ---------------------------------------------------------------
    occurred = parse_times(work[cmap.fields["occurred_at"]], tz=tz, time_format=time_format)
    alive = occurred.ok.to_numpy().copy()
    time_col = src("occurred_at") or "occurred_at"
    for reason, message in (
            ("time_missing", f"no time given in column {time_col!r}; fill in when the event happened"),
            ("time_unparseable", f"cannot read the time in column {time_col!r}; use e.g. 2024-03-05 08:30 "
                                 "(or give time_format in a --mapping file)")):
        mask = ~occurred.ok.to_numpy() & (occurred.reason == reason).to_numpy()
        rejects.add(frame, mask, reason, message, time_col, file_label)
    t_utc = occurred.times.dt.tz_convert("UTC")
    earliest = pd.Timestamp(settings.ingest.earliest, tz=tz)
    latest = pd.Timestamp(datetime.now(UTC) + timedelta(days=settings.ingest.max_future_days))
    out_of_range = alive & ((t_utc < earliest) | (t_utc > latest)).fillna(False).to_numpy()
    rejects.add(frame, out_of_range, "time_out_of_range",
                f"time is before {settings.ingest.earliest} or in the future; check the year and the "
                "time zone", time_col, file_label)
    alive &= ~out_of_range
    watch.lap("parse_times", 0.2)

    # -- category --------------------------------------------------------------
    category_raw = _col(work, cmap, "category_raw")
    missing_cat = alive & category_raw.isna().to_numpy()
    rejects.add(frame, missing_cat, "category_missing",
                "the problem category is empty; fill it in (unknown values are kept as 'other')",
                src("category_raw"), file_label)
    alive &= ~missing_cat
    category = map_categories(category_raw, settings, mapping.categories if mapping else None)
    others = category_raw[alive & (category == OTHER_CATEGORY).fillna(False).to_numpy()]
    report.other_categories = {str(k): int(v) for k, v in others.value_counts().items()}
    report.own_categories, report.new_categories = _own_categories(category, category_raw, alive, settings)
    watch.lap("categories", 0.25)

    # -- location --------------------------------------------------------------
    address = _col(work, cmap, "address")
    lon_lat = [work[cmap.fields[c]] if cmap.fields.get(c) else pd.Series(pd.NA, index=frame.index, dtype="string")
               for c in ("lon", "lat")]
    loc = locate_rows(ws, *lon_lat, address, crs_name, alive)
    lon, lat, method = loc.lon, loc.lat, loc.method
    for reason in ("coords_invalid", "coords_zero", "coords_missing", "outside_area", "address_not_located"):
        mask = alive & (loc.reason == reason)
        column = src("address") if reason == "address_not_located" else (src("lon") or src("address"))
        if mask.any():
            rejects.add(frame, mask, reason, pd.Series(loc.message[mask], index=frame.index[mask],
                                                       dtype="string"), column, file_label)
        alive &= ~mask
    zero, finite, has_text = loc.zero, loc.finite, loc.has_text
    flag_cols: dict[str, np.ndarray] = {}
    report.located_by = {str(k): int(v) for k, v in pd.Series(method[alive]).value_counts().items()}
    by_coords = alive & (method == "coordinates")
    crs_warning = check_declared_crs(ws, lon[by_coords], lat[by_coords], crs_name)
    if crs_warning:
        report.warnings.append(crs_warning)
    watch.lap("geocode", 0.55)

    # -- keep the surviving rows -------------------------------------------------
    keep = np.flatnonzero(alive)
    index_k = frame.index[keep]
    t_keep = t_utc.iloc[keep]
    lon_k, lat_k = lon[keep], lat[keep]
    flag_cols["swap_fixed"] = method[keep] == "swap_fixed"
    flag_cols["coords_zero_geocoded"] = (zero[keep] | ~finite[keep] & has_text[keep]) & \
        pd.Series(method[keep]).str.startswith("geocoded").to_numpy()

    text = _col(work, cmap, "text", keep)
    too_long = text.str.len().fillna(0).to_numpy() > settings.ingest.max_text_chars
    flag_cols["text_truncated"] = too_long
    text = text.str.slice(0, settings.ingest.max_text_chars)  # scrubbed by scrub_fields already

    closed_text = _col(work, cmap, "closed_at", keep)
    closed_at = pd.Series(pd.NaT, index=index_k, dtype="datetime64[us, UTC]")
    if closed_text.notna().any():
        parsed = parse_times(closed_text, tz=tz, time_format=time_format)
        ct = parsed.times.dt.tz_convert("UTC")
        ok_closed = parsed.ok.to_numpy() & (ct >= t_keep).fillna(False).to_numpy()
        flag_cols["closed_at_invalid"] = closed_text.notna().to_numpy() & ~ok_closed
        closed_at = ct.where(ok_closed, pd.NaT).astype("datetime64[us, UTC]")
    status = _col(work, cmap, "status", keep)
    watch.lap("text", 0.6)

    # -- personal data -------------------------------------------------------------
    personal: dict[str, pd.Series] = {}
    for field_name, prefix, masker in (("phone", "phone", privacy.mask_phone),
                                       ("id_number", "id", privacy.mask_id_number),
                                       ("plate", "plate", privacy.mask_plate)):
        values = _col(work, cmap, field_name, keep)
        if values.isna().all():  # most exports lack most personal fields
            personal[f"{prefix}_hash"] = personal[f"{prefix}_masked"] = values
            continue
        # on the distinct values (plates and callers repeat), mapped back
        codes, uniques = _codes(values)
        uniques = uniques.astype("str")
        for key, out in ((f"{prefix}_hash", privacy.hash_values(uniques, ws.salt, kind=field_name)),
                         (f"{prefix}_masked", masker(uniques))):
            taken = pc.take(to_arrow_strings(out), pa.array(codes, mask=codes < 0))
            personal[key] = from_arrow_strings(taken, index=values.index)
    watch.lap("privacy", 0.65)

    # -- content hash and ids ----------------------------------------------------------
    source_id = _col(work, cmap, "source_id", keep)
    chash = content_hashes({
        "source": pd.Series(source, index=index_k, dtype="string"),
        "t": t_keep.astype("datetime64[s, UTC]").astype("int64"),
        "lon": pd.Series(np.round(lon_k * 1e6).astype(np.int64), index=index_k),
        "lat": pd.Series(np.round(lat_k * 1e6).astype(np.int64), index=index_k),
        "category_raw": category_raw.iloc[keep], "text": text, "address": address.iloc[keep],
        "phone": personal["phone_hash"], "plate": personal["plate_hash"],
    })
    # "<source>:<source_id>", or "<source>:h<first 20 hex of the content hash>" without an id
    def lit(value: str) -> pa.Scalar:
        return pa.scalar(value, pa.large_string())

    ids = to_arrow_strings(source_id)
    if ids.null_count:
        # Without an id a row is known by the WHOLE normalised row: the parsed mapped fields (the
        # content hash) and every other column's normalised text, so two reports that differ only in
        # a column no field uses are two events (near-duplicate rules then flag them, never drop them).
        no_id = np.flatnonzero(source_id.isna().to_numpy())
        row_hash = whole_row_hashes(frame, [c for c in cmap.unmapped if c in frame.columns
                                            and not str(c).startswith("_")], keep[no_id], chash.iloc[no_id])
        full = np.full(len(keep), None, dtype=object)
        full[no_id] = row_hash.to_numpy(dtype=object)
        ids = pc.if_else(pc.is_null(ids), pc.binary_join_element_wise(
            lit("h"), pc.utf8_slice_codeunits(pa.array(full, type=pa.large_string()), 0, 20), lit("")), ids)
    event_id = pd.Series(pd.array(pc.binary_join_element_wise(lit(source + ":"), ids, lit("")),
                                  dtype="string"), index=index_k)

    # -- duplicates inside the file ----------------------------------------------------
    # Dictionary codes number the ids in order of first appearance, so a row is the
    # first of its id exactly where the running maximum of the codes grows.
    id_codes = pc.dictionary_encode(to_arrow_strings(event_id)).indices.to_numpy(zero_copy_only=False)
    top = np.maximum.accumulate(id_codes) if len(id_codes) else id_codes
    first = np.r_[True, top[1:] > top[:-1]][:len(id_codes)]
    repeated = ~first
    dup_in_file = np.zeros(len(keep), dtype=bool)
    conflict = np.zeros(len(keep), dtype=bool)
    if repeated.any():  # compare contents only for the (few) repeated ids
        hashes = chash.to_numpy(dtype=object)
        first_pos = np.flatnonzero(first)  # the k-th first occurrence has code k
        same = hashes[repeated] == hashes[first_pos[id_codes[repeated]]]
        dup_in_file[repeated] = same
        conflict[repeated] = ~same
    if conflict.any():
        rows = index_k[conflict]
        mask = frame.index.isin(rows)
        rejects.add(frame, mask, "duplicate_id_conflict",
                    "this id was already used by a different record earlier in the file; "
                    "ids must be unique", src("source_id"), file_label)
    report.duplicates = int(dup_in_file.sum())
    had_id = source_id.notna().to_numpy()
    report.duplicates_by_rule = {k: v for k, v in (
        ("same_id_same_content", int((dup_in_file & had_id).sum())),
        ("same_whole_row", int((dup_in_file & ~had_id).sum()))) if v}

    # Everything below is built for the first row of each id only (``sel``).
    def once(values: Any) -> Any:
        if not repeated.any():
            return values
        return values[first] if isinstance(values, np.ndarray) else values.iloc[np.flatnonzero(first)]

    sel = once(keep)
    index_s = frame.index[sel]
    lon_s, lat_s, method_s = lon[sel], lat[sel], method[sel]
    watch.lap("dedupe", 0.7)

    # -- index -----------------------------------------------------------------------
    # index once, at the finest resolution anything needs (the grid lookup's, with official grids);
    # every tier is a parent of it (bit arithmetic)
    res = {tier: settings.tiers.resolution(tier) for tier in TIERS}
    finest = h3cells.cells_for_points(lon_s, lat_s, max(*res.values(), LOOKUP_RES if ws.grids is not None else 0))
    cells = {tier: h3cells.cell_parents(finest, r) for tier, r in res.items()}
    watch.lap("h3", 0.75)
    if ws.grids is not None:
        grids = locate_points(ws.grids, lon_s, lat_s, cells=finest, cache_dir=ws.cache_dir)
        grids.index = index_s
    else:
        grids = pd.DataFrame({f"grid_{t}": pd.Series(pd.NA, index=index_s, dtype="string")
                              for t in TIERS})
    watch.lap("grids", 0.85)

    status_s = once(status)
    closed_at_s = once(closed_at)
    method_codes, method_names = pd.factorize(method_s)
    method_col = _decode(list(method_names), method_codes, index_s)
    geocoded = np.asarray([str(m).startswith("geocoded") for m in method_names], dtype=bool)[method_codes] \
        if len(method_names) else np.zeros(len(method_codes), dtype=bool)
    events = pd.DataFrame({
        "event_id": once(event_id),
        "source": source,
        "source_id": once(source_id),
        "category": category.iloc[sel],
        "category_raw": category_raw.iloc[sel],
        "occurred_at": once(t_keep).astype("datetime64[us, UTC]"),
        "lon": lon_s, "lat": lat_s,
        "crs_in": _decode(["geocoded", crs_name], np.where(geocoded, 0, 1), index_s),
        "location_method": method_col,
        "address": address.iloc[sel],
        "status": status_s,
        "is_closed": closed_status(status_s).to_numpy() | closed_at_s.notna().to_numpy(),
        "closed_at": closed_at_s,
        "text": once(text),
        **{k: once(v) for k, v in personal.items()},
        "vehicle_type": _col(work, cmap, "vehicle_type", sel),
        "action": _col(work, cmap, "action", sel),
        "reporter": _col(work, cmap, "reporter", sel),
        "patrol_mode": _col(work, cmap, "patrol_mode", sel),
        **{f"h3_{t}": cells[t] for t in TIERS},
        **{f"grid_{t}": grids[f"grid_{t}"].astype("string") for t in TIERS},
        "flags": pd.Series(pd.NA, index=index_s, dtype="string"),
        "content_hash": once(chash),
        "ingest_id": ingest_id,
        "source_file": Path(file_label).name,
        "source_row": frame["_row"].to_numpy()[sel].astype("int64"),
    }, index=index_s)

    # rows placed by their coordinates were projected by the area check already
    x, y = loc.x[sel].copy(), loc.y[sel].copy()
    other = method_s != "coordinates"
    if other.any():
        x[other], y[other] = gcrs.to_metric(lon_s[other], lat_s[other], settings.metric_crs)
    near = near_duplicate_mask(events["source"], events["category"], events["occurred_at"], x, y,
                               settings.ingest.near_duplicate_m, settings.ingest.near_duplicate_s)
    report.near_duplicates = int(near.sum())
    flag_cols_k = {k: once(v) for k, v in flag_cols.items()}
    flag_cols_k["near_duplicate"] = near
    events["flags"] = _join_flags(flag_cols_k, events.index)
    report.flags = {k: int(v.sum()) for k, v in flag_cols_k.items() if v.sum()}
    watch.lap("dedupe", 0.9)
    report.timings = watch.timings
    return conform_events(events), rejects.frame(), report


def _is_geographic(crs_name: str) -> bool:
    """Whether coordinates in ``crs_name`` are degrees (the Chinese systems by name, any other via pyproj)."""
    if crs_name in (gcrs.WGS84, gcrs.GCJ02, gcrs.BD09, gcrs.CGCS2000):
        return True
    import pyproj

    try:
        return bool(pyproj.CRS.from_user_input(crs_name).is_geographic)
    except pyproj.exceptions.CRSError:
        return False


def _join_flags(flags: dict[str, np.ndarray], index: pd.Index) -> pd.Series:
    """``a;b`` of the names of the flags set on each row (missing when none).

    Rows are coded by their set of flags (a bit each), so only the few distinct
    combinations are formatted.
    """
    names = [name for name, mask in flags.items() if mask.any()]
    code = np.zeros(len(index), dtype=np.int64)
    for bit, name in enumerate(names):
        code |= np.asarray(flags[name], dtype=bool).astype(np.int64) << bit
    labels: list[str | None] = [None] * (1 << len(names))
    for c in np.unique(code):
        if c:
            labels[c] = ";".join(name for bit, name in enumerate(names) if c >> bit & 1)
    return _decode(labels, np.where(code == 0, -1, code), index)


def _geocode(ws: Workspace, addresses: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """Geocode addresses; returns the match table and a message per row."""
    from geo.ingest.geocode import geocode

    path = ws.path("gazetteer")
    if path is None or not path.exists():
        located = pd.DataFrame({"lon": np.nan, "lat": np.nan, "method": "none",
                                "candidates": ""}, index=addresses.index)
        msg = np.full(len(addresses), "the row has only an address and the workspace has no standard-address "
                      "gazetteer; set [workspace] gazetteer = FILE in gridwatch.toml", dtype=object)
        return located, msg
    gaz = _gazetteer_cache(path)
    located = geocode(addresses, gaz, min_score=ws.settings.ingest.geocode_min_score)
    located.index = addresses.index
    inside = np.zeros(len(located), dtype=bool)
    ok = located["method"].to_numpy() != "none"
    if ok.any():
        inside[ok] = area_contains(ws, located["lon"].to_numpy()[ok], located["lat"].to_numpy()[ok],
                                   ws.settings.ingest.area_buffer_m)
    located.loc[ok & ~inside, "method"] = "none"
    cands = located["candidates"].fillna("").astype(str).to_numpy()
    msg = np.where(cands != "",
                   "address not found in the gazetteer; closest entries: " + cands.astype(object),
                   "address not found in the gazetteer; check the spelling or add it to the gazetteer")
    return located, msg


_GAZ: dict[tuple[str, float], Any] = {}


def _gazetteer_cache(path: Path) -> Any:
    from geo.ingest.geocode import Gazetteer

    key = (str(path), path.stat().st_mtime)
    if key not in _GAZ:
        _GAZ.clear()
        _GAZ[key] = Gazetteer.from_csv(path)
    return _GAZ[key]


PENDING_QUARANTINE = ".pending"
"""Suffix of a quarantine file written inside an ingest's transaction, renamed once it commits."""
_COMMIT_ATTEMPTS = 5
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()
_WRITERS: dict[str, threading.Lock] = {}


def _store_writer(store: Path) -> threading.Lock:
    """The lock that makes ingests into one store take turns inside this process.

    Other processes are kept out by DuckDB's file lock; sessions of one process share a handle, so
    without this two of them could both find an id absent and both insert it (the events table has
    no key index to refuse the second).
    """
    with _IN_FLIGHT_LOCK:
        return _WRITERS.setdefault(str(Path(store).resolve()), threading.Lock())


def _pending_quarantine(qpath: Path) -> Path:
    return qpath.with_name(qpath.name + PENDING_QUARANTINE)


def _discard_pending(pending: Path, *, keep: bool = False) -> None:
    """Forget an in-flight pending quarantine file; delete it unless ``keep`` (rolled back: its rows were not kept)."""
    if not pending.name:  # failed before its quarantine file was named
        return
    if not keep:
        for p in (pending, pending.with_name(pending.name + ".tmp")):
            if p.exists():
                p.unlink()
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.discard(pending.name)


def recover_pending_quarantine(con: Any, quarantine_dir: Path) -> list[str]:
    """Finish or remove the pending quarantine files a killed ingest left (call holding the store writable).

    A pending file whose name the ``ingests`` table records belongs to a
    committed ingest killed before the rename: it is renamed.  Any other
    (not in flight in this process) belongs to an ingest that never
    committed: its rows are not in the store, so the file is removed (the
    source file is ingested again in full).  Returns what was done, one
    line per file.
    """
    if not quarantine_dir.is_dir():
        return []
    leftovers = sorted(quarantine_dir.glob(f"*.csv{PENDING_QUARANTINE}")) + sorted(
        quarantine_dir.glob(f"*.csv{PENDING_QUARANTINE}.tmp"))
    with _IN_FLIGHT_LOCK:
        leftovers = [p for p in leftovers if p.name.removesuffix(".tmp") not in _IN_FLIGHT]
    if not leftovers:
        return []
    recorded = {Path(str(q)).name for (q,) in con.execute(
        "SELECT quarantine_file FROM ingests WHERE quarantine_file IS NOT NULL").fetchall()}
    done = []
    for p in leftovers:
        final = p.name.removesuffix(PENDING_QUARANTINE)
        if p.suffix == PENDING_QUARANTINE and final in recorded:
            os.replace(p, p.with_name(final))
            done.append(f"{final}: committed ingest, quarantine file completed")
        else:
            p.unlink()
            done.append(f"{p.name}: ingest never committed, file removed")
    for line in done:
        _log.warning("quarantine: %s", line)
    return done


PREVIEW_COLUMNS = ("source_id", "occurred_at", "category_raw", "category", "lon", "lat", "address", "text",
                   "location_method")
"""Event columns shown in a dry run's parsed rows (no personal fields: those are hashed and masked)."""


def preview_events(events: pd.DataFrame, tz: str, rows: int = 5) -> list[dict[str, Any]]:
    """The first ``rows`` events as plain dicts (local time, rounded coordinates) for a preview."""
    head = events.head(rows)
    out = []
    for _, r in head.iterrows():
        rec: dict[str, Any] = {}
        for c in PREVIEW_COLUMNS:
            v = r.get(c)
            if c == "occurred_at" and v is not None and not pd.isna(v):
                v = pd.Timestamp(v).tz_convert(tz).isoformat()
            elif c in ("lon", "lat") and v is not None and not pd.isna(v):
                v = round(float(v), 6)
            elif v is None or (not isinstance(v, str) and pd.isna(v)):
                v = None
            else:
                v = str(v)
            rec[c] = v
        out.append(rec)
    return out


def _compare_with_store(con: Any, events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which events' ids the store already holds, and which of those it holds with different content.

    Returns boolean arrays ``(in_store, conflict)`` aligned with ``events``; ``conflict`` implies
    ``in_store``.  The ingest and its dry run count duplicates and id conflicts from the same answer.
    """
    in_store = conflict = np.zeros(len(events), dtype=bool)
    known = existing_hashes(con, events["event_id"].tolist())
    if len(known):
        prev = events["event_id"].map(known.set_index("event_id")["content_hash"])
        in_store = prev.notna().to_numpy()
        conflict = in_store & ~(prev == events["content_hash"]).fillna(False).to_numpy()
    return in_store, conflict


def _dry_run(ws: Workspace, events: pd.DataFrame, rejects: pd.DataFrame, report: IngestReport, t0: float,
             rows: int) -> IngestReport:
    """Counts an ingest would produce, with the store only read (when it exists)."""
    report.dry_run = True
    in_store = conflict = np.zeros(len(events), dtype=bool)
    if ws.store_path.exists() and len(events):
        with connect(ws.store_path, read_only=True) as con:
            in_store, conflict = _compare_with_store(con, events)
    reasons = rejects["reason"].value_counts() if len(rejects) else pd.Series(dtype="int64")
    by_reason = {str(k): int(v) for k, v in reasons.items()}
    if conflict.any():
        by_reason["duplicate_id_conflict"] = by_reason.get("duplicate_id_conflict", 0) + int(conflict.sum())
    report.duplicates += int((in_store & ~conflict).sum())
    report.stored = int((~in_store).sum())
    report.quarantined = len(rejects) + int(conflict.sum())
    report.by_reason = dict(sorted(by_reason.items()))
    report.preview = preview_events(events[~in_store], ws.settings.timezone, rows)
    report.seconds = time.perf_counter() - t0
    return report


def ingest_file(
    path: str | Path,
    source: str,
    ws: Workspace,
    *,
    crs: str | None = None,
    mapping_file: str | Path | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
    actor: str | None = None,
    role: str = "admin",
    dry_run: bool = False,
    preview_rows: int = 5,
) -> IngestReport:
    """Ingest one file into the workspace's store as ONE transaction.

    Parameters
    ----------
    path : path-like
        CSV (UTF-8/GBK), XLSX, GeoJSON or (Geo)Parquet.
    source : str
        One of :data:`geo.settings.SOURCES`.
    ws : Workspace
    crs : str, optional
        Coordinate system of the file; default: the file's own declaration,
        then the workspace's default for the source.
    mapping_file : path-like, optional
        TOML column mapping for exports whose headers are not recognised.
    progress : callable, optional
        ``progress(stage, fraction)``.
    actor, role : str, optional
        Who ingests, for the audit log (default: the command line's local admin).
    dry_run : bool
        Read, map and check everything, count what would be stored, counted as
        a duplicate (against the file and the store, read only) or quarantined,
        and write nothing: no events, no quarantine file, no audit row.
    preview_rows : int
        Parsed rows kept in ``report.preview`` by a dry run.

    Returns
    -------
    IngestReport
        ``read == stored + duplicates + quarantined`` always.

    Raises
    ------
    InputFileError
        When the file as a whole cannot be read (the store is untouched).
    """
    t0 = time.perf_counter()
    path = Path(path)
    if not path.exists():
        raise InputFileError("file not found; check the path", file=str(path))
    mapping = load_mapping(mapping_file) if mapping_file else None
    if progress:
        progress("read", 0.0)
    # the file's hash for the ingest record, on another core while the file is parsed (hashlib lets go of the GIL)
    hashing = None if dry_run else _HASHER.submit(file_sha256, path)
    raw = apply_layout(read_workbook(path, encoding=encoding or (mapping.encoding if mapping else None),
                                     sheet=sheet or (mapping.sheet if mapping else None),
                                     delimiter=mapping.delimiter if mapping else None,
                                     max_field_lines=ws.settings.ingest.max_field_lines,
                                     max_record_mb=ws.settings.ingest.max_record_mb))
    t_read = time.perf_counter() - t0
    ingest_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    events, rejects, report = prepare_events(raw, source, ws, crs=crs, mapping_file=mapping_file,
                                             ingest_id=ingest_id, progress=progress)
    report.timings = {"read": t_read, **report.timings}
    validate_events(events, resolutions={t: ws.settings.tiers.resolution(t) for t in TIERS})
    if dry_run:
        return _dry_run(ws, events, rejects, report, t0, preview_rows)

    t_store = time.perf_counter()
    sha = hashing.result() if hashing is not None else file_sha256(path)

    def store_busy(message: str) -> None:
        if progress:
            progress(message, 0.95)  # the file is parsed; only storing is left

    # Another session of this process may commit an audit row (a login) while this transaction is open; its
    # snapshot then takes the same audit seq and the commit conflicts: redo the store step from the start.
    # The last attempt holds the audit lock, so sessions wait for its commit (a login is delayed by one
    # store step) instead of failing the ingest when logins keep coming.
    events_in, rejects_in, duplicates_in = events, rejects, report.duplicates
    for attempt in range(_COMMIT_ATTEMPTS):
        events, rejects, report.duplicates = events_in, rejects_in, duplicates_in
        pending = Path()
        sessions_wait = audit.write_lock(ws.store_path) if attempt == _COMMIT_ATTEMPTS - 1 else nullcontext()
        try:
            with _store_writer(ws.store_path), sessions_wait, connect(
                    ws.store_path, wait=ws.settings.store.busy_wait_seconds,
                    progress=store_busy if progress else None) as con:
                recover_pending_quarantine(con, ws.quarantine_dir)
                con.begin()
                try:
                    in_store, conflict = _compare_with_store(con, events)
                    if in_store.any():
                        same = ~conflict
                        if conflict.any():
                            src = undo_bookkeeping(raw.frame) if is_quarantine_table(raw.frame.columns) else raw.frame
                            raw_rows = src.index.isin(events.index[conflict])
                            rejects = pd.concat([rejects, quarantine_frame(
                                src, src.index[raw_rows], "duplicate_id_conflict",
                                "this id is already in the store with different content; ids must be unique",
                                None, path.name)])
                        report.duplicates += int((in_store & same).sum())
                        if (in_store & same).any():
                            report.duplicates_by_rule["already_in_store"] = int((in_store & same).sum())
                        events = events[~in_store]
                    report.stored = append_events(con, events)
                    report.quarantined = len(rejects)
                    report.by_reason = {str(k): int(v) for k, v in rejects["reason"].value_counts().items()} \
                        if len(rejects) else {}
                    qpath = ws.quarantine_dir / f"{ingest_id}_{path.stem}.csv"
                    pending = _pending_quarantine(qpath)
                    with _IN_FLIGHT_LOCK:
                        _IN_FLIGHT.add(pending.name)
                    written = write_quarantine(rejects, pending) if len(rejects) else None
                    report.quarantine_file = str(qpath) if written else None
                    report.timings["store"] = time.perf_counter() - t_store
                    report.seconds = time.perf_counter() - t0
                    if not report.reconciles:  # pragma: no cover - a bug, never user input
                        raise RuntimeError(f"ingest of {path} does not reconcile: {report.to_dict()}")
                    record_ingest(con, {
                        "ingest_id": ingest_id, "started_at": datetime.now(UTC), "file": str(path),
                        "file_sha256": sha, "source": source, "crs": report.crs, "read": report.read,
                        "stored": report.stored, "duplicates": report.duplicates,
                        "quarantined": report.quarantined, "quarantine_file": report.quarantine_file,
                        "report": report.to_dict(),
                    })
                    # The audit row lands in the same transaction as the events: both or neither.
                    audit.record_in(con, "ingest", actor=actor or audit.cli_actor(), role=role, target=path.name, details={
                        "ingest_id": ingest_id, "file_sha256": sha, "source": source, "crs": report.crs,
                        "read": report.read, "stored": report.stored, "duplicates": report.duplicates,
                        "quarantined": report.quarantined, "by_reason": report.by_reason})
                    con.commit()
                except BaseException:
                    con.rollback()
                    _discard_pending(pending)
                    raise
                audit.write_anchor(con)
                if pending.name and pending.exists():
                    os.replace(pending, qpath)  # committed: the quarantine file takes its recorded name
                _discard_pending(pending, keep=True)
        except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
            if attempt == _COMMIT_ATTEMPTS - 1:
                raise StoreError(f"could not store {path.name}: the store kept changing under this ingest ({exc}); "
                                 "nothing was stored, ingest the file again") from None
            time.sleep(0.05 * 2 ** attempt)
            continue
        break
    # the workspace's new categories: codes are in the store already, this names them
    register_categories(ws.root, report.new_categories)
    if progress:
        progress("done", 1.0)
    return report
