"""Quarantine: rows that could not be stored, with where they came from and why.

A quarantine file is a UTF-8 CSV with a byte-order mark (so Excel shows the
Chinese correctly) holding, for every rejected row: ``source_file``,
``source_row`` (the row number the user sees in their spreadsheet),
``reason`` (a stable code, see :data:`REASONS`), ``message`` (what to fix),
``column`` (the offending column, if one) and the row's original values,
column by column, as they were read — except that personal data is masked
(phone numbers, ID numbers and plates inside any value, with
:func:`geo.privacy.scrub_text`, as in the stored events) and cells that a
spreadsheet would run as formulas get a leading ``'`` (see
:func:`geo.store.export.escape_formulas`): the file is opened in Excel and sent
back to whoever fixes the source data.

Round trip: a quarantine file, untouched or fixed by hand, re-ingests as it is.
:func:`undo_bookkeeping` (called by the pipeline on every file whose header
starts with :data:`META_COLUMNS`) drops the bookkeeping columns and takes the
``'`` off escaped cells and headers, so ``'-95.11`` is a longitude again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

REASONS: dict[str, str] = {
    "ragged_row": "the row has more or fewer fields than the header",
    "footer_row": "a 合计/小计/total row under the data (a spreadsheet footer, not an event)",
    "unreadable_row": "the row or feature could not be read (e.g. an invalid GeoJSON feature)",
    "broken_quote": "a stray \" opened a quoted field that ran past the end of the line (runaway quote); "
                    "only this line was set aside, the rest of the file was read",
    "record_too_large": "the record is larger than ingest.max_record_mb",
    "time_missing": "no time given",
    "time_unparseable": "the time could not be read as a date/time",
    "time_out_of_range": "the time is impossible (too early or in the future)",
    "coords_missing": "no coordinates and no address to locate the event",
    "coords_zero": "coordinates are 0",
    "coords_invalid": "coordinates are not numbers in range",
    "outside_area": "the point lies outside the study area",
    "address_not_located": "the address was not found in the standard-address gazetteer",
    "category_missing": "no problem category given",
    "duplicate_id_conflict": "the id was already used by a different record",
}
"""Reason codes of quarantined rows and what they mean."""

META_COLUMNS = ("source_file", "source_row", "reason", "message", "column")


def quarantine_frame(raw: pd.DataFrame, rows: pd.Index | list[int], reason: str | pd.Series,
                     message: str | pd.Series, column: str | pd.Series | None,
                     source_file: str) -> pd.DataFrame:
    """Build quarantine records for the given row labels of a raw frame.

    ``raw`` has the file's original columns plus ``_row``; ``reason``,
    ``message`` and ``column`` are scalars or Series aligned with ``rows``.
    """
    sub = raw.loc[rows]
    for name, value in (("reason", reason), ("message", message)):
        if isinstance(value, str) and name == "reason" and value not in REASONS:
            raise ValueError(f"unknown quarantine reason {value!r}")
    meta = pd.DataFrame({
        "source_file": source_file,
        "source_row": sub["_row"].astype("int64").to_numpy(),
        "reason": reason.to_numpy() if isinstance(reason, pd.Series) else reason,
        "message": message.to_numpy() if isinstance(message, pd.Series) else message,
        "column": (column.to_numpy() if isinstance(column, pd.Series) else (column or "")),
    }, index=sub.index)
    values = sub.drop(columns=["_row"])
    # an export's own "reason" or "message" column must not collide with the bookkeeping
    values = values.rename(columns={c: f"{c}.1" for c in values.columns if c in META_COLUMNS})
    return pd.concat([meta, values], axis=1)


def _safe_for_spreadsheet(records: pd.DataFrame) -> pd.DataFrame:
    """Raw values with personal data masked and formula cells escaped (text columns only)."""
    from geo.privacy import remove_control_chars, scrub_text
    from geo.store.export import escape_formulas

    out = records.copy()
    cols = [c for c in out.columns if c not in ("source_row", "reason") and (
        out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype))]
    if cols and len(out):
        # one scrub over all cells stacked: the regex passes cost per call, not per value
        stacked = pd.concat([out[c].astype("string") for c in cols], ignore_index=True)
        scrubbed = remove_control_chars(scrub_text(stacked)).where(stacked.notna()).to_numpy(dtype=object)
        for i, c in enumerate(cols):
            out[c] = scrubbed[i * len(out):(i + 1) * len(out)]
    return escape_formulas(out)


def write_quarantine(records: pd.DataFrame, path: Path) -> Path | None:
    """Write quarantine records atomically (temp file + rename); ``None`` if there are none."""
    if records.empty:
        return None
    from geo.store.files import private_dir, private_umask

    private_dir(path.parent)  # 0700: raw rows, even masked, are for the data's owner only
    tmp = path.with_suffix(path.suffix + ".tmp")
    out = _safe_for_spreadsheet(records.sort_values(["source_row", "reason"], kind="stable"))
    with private_umask():  # the file is 0600
        # CRLF rows: a bare CR inside a raw value is then quoted (see geo.store.export.write_table)
        out.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    os.replace(tmp, path)
    return path


def read_quarantine(path: str | Path) -> pd.DataFrame:
    """Read a quarantine file back (all values as text)."""
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)


# pandas / polars spellings of a repeated header ("reason" twice → "reason.1" / "reason_duplicated_0")
_MANGLED = re.compile(r"^(?P<name>.+?)(?:\.\d+|_duplicated_\d+)$")


def is_quarantine_table(columns: list[str] | pd.Index) -> bool:
    """Whether a table's header is a quarantine file's (it starts with :data:`META_COLUMNS`)."""
    cols = [str(c) for c in columns if c != "_row"]
    return cols[: len(META_COLUMNS)] == list(META_COLUMNS)


def _unescape(values: pd.Series) -> pd.Series:
    from geo.store.export import FORMULA_PREFIXES

    text = values.astype("string")
    escaped = (text.str.startswith("'") & text.str.slice(1, 2).isin(list(FORMULA_PREFIXES))).fillna(False)
    return text.where(~escaped, text.str.slice(1)) if escaped.any() else values


def undo_bookkeeping(frame: pd.DataFrame) -> pd.DataFrame:
    """A quarantine table as the original export: bookkeeping columns dropped, escapes undone.

    Parameters
    ----------
    frame : DataFrame
        A table read from a quarantine file (with the reader's ``_row`` column).

    Returns
    -------
    DataFrame
        The original columns (a header repeated because the export had a column called
        ``reason`` gets its name back) with every ``'``-escaped cell and header restored:
        ``'-95.11`` → ``-95.11``, ``'=A1`` → ``=A1``.
    """
    from geo.store.export import FORMULA_PREFIXES

    keep = [c for c in frame.columns if c == "_row"] + [c for c in frame.columns if c != "_row"][len(META_COLUMNS):]
    out = frame[keep].copy()
    names = []
    for c in out.columns:
        name = str(c)
        m = _MANGLED.match(name)
        if m and m.group("name") in META_COLUMNS:
            name = m.group("name")
        if name.startswith("'") and name[1:2] in FORMULA_PREFIXES:
            name = name[1:]
        names.append(name)
    out.columns = names
    for c in out.columns:
        if c != "_row" and (out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype)):
            out[c] = _unescape(out[c])
    return out
