"""Spreadsheet layouts of government exports: footer rows and one sheet per month.

Chinese government workbooks (12345 工单明细, 城管案卷, 交管违法) wrap the
table: title rows above the header (found by :mod:`geo.ingest.readers`), a
merged two-row header (``位置`` over ``经度 | 纬度``: the sub-header names
the columns), a
合计 / 小计 / 总计 row under the data, and often one sheet per month with the
same columns.  :func:`apply_layout` turns such a workbook into one table:

- **footer rows** — a row whose first filled cell is 合计/小计/总计/共计/合 计/
  Total/Subtotal and that has at most half the columns filled — are moved to
  ``RawTable.bad_rows`` with reason ``footer_row``: counted, quarantined with
  their row number, never read as an event;
- **one sheet per month** — when no sheet was asked for and several visible
  sheets have exactly the first sheet's columns, all of them are read and
  concatenated; a ``_sheet`` column says where each row came from (quarantine
  files show it), and a note lists the sheets read and those skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from geo.ingest.readers import RawTable, read_raw
from geo.ingest.textnorm import normalize_text

__all__ = ["FOOTER_WORDS", "SHEET_COLUMN", "apply_layout", "footer_mask", "read_workbook", "split_footer"]

FOOTER_WORDS = ("合计", "小计", "总计", "共计", "合計", "小計", "總計", "total", "subtotal", "grand total", "sum")
"""First-cell words of a footer row (compared after NFKC, spaces removed, case-folded)."""

SHEET_COLUMN = "_sheet"
"""Column naming the sheet of each row when several sheets are read."""

_FOOTER = re.compile(r"^(?:" + "|".join(re.escape(w.replace(" ", "")) for w in FOOTER_WORDS) + r")\b",
                     re.IGNORECASE)


def footer_mask(frame: pd.DataFrame) -> np.ndarray:
    """Rows that are a 合计/小计/Total footer (see the module docstring); vectorised over columns."""
    cols = [c for c in frame.columns if not str(c).startswith("_")]
    n = len(frame)
    if not cols or n == 0:
        return np.zeros(n, dtype=bool)
    filled = np.zeros(n, dtype=np.int64)
    for c in cols:
        filled += frame[c].notna().to_numpy()
    # a footer leaves most cells empty: only those (few) rows need their first cell read
    rows = np.flatnonzero(filled <= max(1, len(cols) // 2))
    if rows.size == 0:
        return np.zeros(n, dtype=bool)
    part = frame.iloc[rows]
    first = pd.Series(pd.NA, index=part.index, dtype="string")
    for c in cols:
        first = first.fillna(part[c].astype("string"))
    key = normalize_text(first).str.replace(r"\s+", "", regex=True).str.casefold()
    mask = np.zeros(n, dtype=bool)
    mask[rows] = key.str.contains(_FOOTER).fillna(False).to_numpy(dtype=bool)
    return mask


def split_footer(raw: RawTable) -> RawTable:
    """Footer rows (:func:`footer_mask`) moved from the frame to the bad rows as ``footer_row``."""
    mask = footer_mask(raw.frame)
    if not mask.any():
        return raw
    rows = raw.frame.loc[mask]
    cols = [c for c in rows.columns if not str(c).startswith("_")]
    text = rows[cols].astype("string").fillna("").agg(",".join, axis=1)
    bad = pd.DataFrame({"_row": rows["_row"].astype("int64").to_numpy(), "reason": "footer_row",
                        "detail": "a 合计/小计/total row under the data, not an event",
                        "text": text.to_numpy()})
    raw.frame = raw.frame.loc[~mask]
    raw.bad_rows = pd.concat([raw.bad_rows, bad], ignore_index=True)
    raw.notes.append(f"{int(mask.sum())} footer row(s) (合计/小计/total) set aside and quarantined as footer_row")
    return raw


def _sheet_names(path: Path) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return [n for n in wb.sheetnames if wb[n].sheet_state == "visible"]
    finally:
        wb.close()


def read_workbook(path: str | Path, *, encoding: str | None = None, sheet: str | int | None = None,
                  delimiter: str | None = None, max_field_lines: int | None = None,
                  max_record_mb: float | None = None) -> RawTable:
    """:func:`geo.ingest.readers.read_raw`, reading every same-column sheet of a workbook.

    With ``sheet`` given, or for other formats, exactly ``read_raw``.  The
    file's own record count (``file_records``) is the sum over the sheets read.
    """
    p = Path(path)
    raw = read_raw(p, encoding=encoding, sheet=sheet, delimiter=delimiter, max_field_lines=max_field_lines,
                   max_record_mb=max_record_mb)
    if raw.format != "xlsx" or sheet not in (None, ""):
        return raw
    names = _sheet_names(p)
    if len(names) < 2:
        return raw
    first_cols = list(raw.frame.columns)
    parts, read, skipped = [raw.frame.assign(**{SHEET_COLUMN: raw.sheet})], [str(raw.sheet)], []
    bad = [raw.bad_rows.assign(**{SHEET_COLUMN: raw.sheet})] if len(raw.bad_rows) else []
    blank, blank_tail, records = raw.blank_rows, raw.blank_tail, raw.file_records
    for name in names:
        if name == raw.sheet:
            continue
        other = read_raw(p, sheet=name)
        if list(other.frame.columns) != first_cols:
            skipped.append(name)
            continue
        parts.append(other.frame.assign(**{SHEET_COLUMN: name}))
        if len(other.bad_rows):
            bad.append(other.bad_rows)
        blank += other.blank_rows
        blank_tail += other.blank_tail
        records = None if records is None or other.file_records is None else records + other.file_records
        read.append(name)
    if len(read) == 1:
        return raw
    frame = pd.concat(parts, ignore_index=True)
    frame[SHEET_COLUMN] = frame[SHEET_COLUMN].astype("string")
    raw.frame = frame
    if bad:
        raw.bad_rows = pd.concat(bad, ignore_index=True)
    raw.blank_rows, raw.blank_tail, raw.file_records = blank, blank_tail, records
    raw.notes.append(f"read {len(read)} sheets with the same columns: {', '.join(read)}"
                     + (f"; skipped (other columns): {', '.join(skipped)}" if skipped else ""))
    return raw


def _merge_two_row_header(raw: RawTable) -> RawTable:
    """A merged / two-row header (``位置`` over ``经度 | 纬度``): the sub-header row names the columns.

    The first row under the detected header is a sub-header when the
    header has blank (``Unnamed: i``) cells and that row has no digit in any
    cell while filling every blank-header column; each column then takes its
    sub-header (else keeps the top one) and the row is not a record.
    """
    frame = raw.frame
    cols = [c for c in frame.columns if not str(c).startswith("_")]
    if raw.format != "xlsx" or len(frame) < 2 or not cols:
        return raw
    blank = [c for c in cols if str(c).startswith("Unnamed")]
    if not blank:
        return raw
    first = frame.iloc[0][cols].astype("string")
    if first[blank].isna().any() or first.fillna("").str.contains(r"\d").any():
        return raw
    names = [str(first[c]).strip() if pd.notna(first[c]) else str(c) for c in cols]
    if len(set(names)) != len(names):
        return raw
    raw.frame = frame.iloc[1:].rename(columns=dict(zip(cols, names, strict=True)))
    if raw.file_records is not None:
        raw.file_records -= 1  # the sub-header row is part of the header, not a record
    raw.notes.append(f"two-row header: sheet row {int(frame['_row'].iloc[0])} named the columns "
                     f"({', '.join(names)})")
    return raw


def apply_layout(raw: RawTable) -> RawTable:
    """Two-row headers merged, footer rows set aside as ``footer_row`` bad rows (every record counted)."""
    return split_footer(_merge_two_row_header(raw))
