"""The common shape of every reader's result: :class:`RawTable` and its bad-row frame.

A :class:`RawTable` holds a file's columns as text exactly as the file holds them (apart from
decoding), plus ``_row`` -- the row number a person sees when they open the file (spreadsheet row;
the header is row 1, so the first data row is 2; for GeoJSON and Parquet the 1-based record index).
Rows that cannot be read are kept in :attr:`RawTable.bad_rows` with a reason, so the pipeline can
quarantine them and the counts reconcile against the file's physical records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["RawTable", "ROW_COLUMN", "GEOM_LON", "GEOM_LAT", "BAD_ROW_COLUMNS", "REFUSED_EXT",
           "empty_bad_rows", "bad_rows_frame", "dedupe_names", "frame_from_arrow"]

ROW_COLUMN = "_row"
GEOM_LON = "_geom_lon"
GEOM_LAT = "_geom_lat"
BAD_ROW_COLUMNS = ("_row", "reason", "detail", "text")

# Formats refused with a reason and the way out (by extension).
REFUSED_EXT = {
    ".xlsm": "macro-enabled workbooks (.xlsm) are refused for safety; open it in Excel and "
             "save it as .xlsx (Excel Workbook) or CSV UTF-8, then read that file",
    ".xltm": "macro-enabled templates (.xltm) are refused for safety; save as .xlsx or CSV UTF-8",
    ".xlsb": "binary workbooks (.xlsb) are not supported; save as .xlsx or CSV UTF-8",
    ".xls": "legacy Excel 97-2003 workbooks (.xls) are not supported; save as .xlsx or CSV UTF-8",
    ".et": "WPS spreadsheets (.et) are not supported; save as .xlsx or CSV UTF-8",
    ".ods": "OpenDocument spreadsheets (.ods) are not supported; save as .xlsx or CSV UTF-8",
}

_STR = pd.StringDtype("pyarrow", na_value=np.nan)


@dataclass
class RawTable:
    """A file as read, before any interpretation.

    Attributes
    ----------
    frame
        One column per original column, all ``str`` dtype (missing = NaN;
        empty CSV fields and empty cells are missing), plus ``_row`` (int64,
        the row number the user sees) and, for GeoJSON/GeoParquet,
        ``_geom_lon``/``_geom_lat`` (float64, NaN where the geometry is not a
        point).
    path, format, encoding, delimiter, sheet
        Where and how it was read (``encoding`` is ``None`` for binary formats,
        ``delimiter`` only for CSV, ``sheet`` only for XLSX).
    declared_crs
        The coordinate system the file states, verbatim (GeoJSON ``crs`` or
        ``coordinate_system`` member, GeoParquet CRS, an XLSX 说明 sheet
        cell such as ``坐标系 | CGCS2000``), else ``None``.
    bad_rows
        Rows that could not be read: ``_row``, ``reason`` (``ragged_row``,
        ``invalid_feature``), ``detail`` and ``text`` (the raw line; may hold
        personal data, so quarantine it like the rest).
    blank_rows
        Empty rows between the header and the last data row (skipped,
        counted so totals reconcile).
    notes
        What the reader did that a person should know (title lines skipped …).
    file_records
        Data records in the file (after the header, blank ones included), counted from the file
        itself independently of the parser: CSV by a quote-aware byte scan
        (:func:`geo.ingest.csvrecords.scan_records`), XLSX by the ``<row>`` elements of the sheet,
        GeoJSON by its features, Parquet by its row-group metadata.
    file_lines
        Physical lines of a text file (CSV), else ``None``.
    blank_tail
        Empty records after the last data row (skipped; with ``blank_rows`` they make
        ``accounted == file_records``).
    """

    frame: pd.DataFrame
    path: Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    declared_crs: str | None = None
    sheet: str | None = None
    bad_rows: pd.DataFrame = field(default_factory=lambda: empty_bad_rows())
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)
    file_records: int | None = None
    file_lines: int | None = None
    blank_tail: int = 0

    @property
    def accounted(self) -> int:
        """Records the reader accounts for: kept, bad, blank (interior and trailing)."""
        return len(self.frame) + len(self.bad_rows) + self.blank_rows + self.blank_tail

    @property
    def matches_file(self) -> bool:
        """Whether :attr:`accounted` equals the file's own record count (``True`` when not counted)."""
        return self.file_records is None or self.accounted == self.file_records

    @property
    def columns(self) -> list[str]:
        """The headers to map: every column but ``_row`` (``_geom_lon``/``_geom_lat``
        included — they are the file's point geometry, see :func:`geo.ingest.map_columns`)."""
        return [c for c in self.frame.columns if c != ROW_COLUMN]

    @property
    def n_rows(self) -> int:
        return len(self.frame)


def empty_bad_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "_row": pd.Series([], dtype="int64"),
        "reason": pd.Series([], dtype="str"),
        "detail": pd.Series([], dtype="str"),
        "text": pd.Series([], dtype="str"),
    })


def bad_rows_frame(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    if not rows:
        return empty_bad_rows()
    r, reason, detail, text = zip(*rows, strict=True)
    return pd.DataFrame({
        "_row": np.asarray(r, dtype="int64"),
        "reason": pd.Series(reason, dtype="str"),
        "detail": pd.Series(detail, dtype="str"),
        "text": pd.Series(text, dtype="str"),
    })


def dedupe_names(names: list[str | None], reserved: tuple[str, ...] = (ROW_COLUMN, GEOM_LON, GEOM_LAT)
            ) -> list[str]:
    """Header names made unique the pandas way (``a``, ``a.1``); empty → ``Unnamed: i``."""
    seen: set[str] = set(reserved)
    out: list[str] = []
    for i, n in enumerate(names):
        base = (n.replace("\ufeff", "") if isinstance(n, str) else "")
        if not base.strip():
            base = f"Unnamed: {i}"
        cand, k = base, 0
        while cand in seen:
            k += 1
            cand = f"{base}.{k}"
        seen.add(cand)
        out.append(cand)
    return out


def frame_from_arrow(cols: dict[str, pa.ChunkedArray | pa.Array], rows: np.ndarray,
                      keep: np.ndarray | None = None) -> pd.DataFrame:
    """DataFrame of ``str`` columns (Arrow-backed, no copy) plus ``_row``."""
    out: dict[str, Any] = {}
    mask = pa.array(keep) if keep is not None and not keep.all() else None
    for n, col in cols.items():
        if mask is not None:
            col = col.filter(mask)
        if isinstance(col, pa.Array):
            col = pa.chunked_array([col])
        elif col.num_chunks > 1:
            # One chunk: every later take/filter of a multi-chunk column first concatenates it.
            col = pa.chunked_array([col.combine_chunks()])
        if not pa.types.is_large_string(col.type):
            col = col.cast(pa.large_string())
        out[n] = _STR.construct_array_type()(col, dtype=_STR)  # wraps, no copy
    out[ROW_COLUMN] = np.ascontiguousarray(rows[keep] if mask is not None else rows, dtype=np.int64)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- cell values → text
