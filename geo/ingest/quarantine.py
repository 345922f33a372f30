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
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

REASONS: dict[str, str] = {
    "ragged_row": "the row has more or fewer fields than the header",
    "footer_row": "a 合计/小计/total row under the data (a spreadsheet footer, not an event)",
    "unreadable_row": "the row or feature could not be read (e.g. an invalid GeoJSON feature)",
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
    return pd.concat([meta, values], axis=1)


def _safe_for_spreadsheet(records: pd.DataFrame) -> pd.DataFrame:
    """Raw values with personal data masked and formula cells escaped (text columns only)."""
    from geo.privacy import scrub_text
    from geo.store.export import escape_formulas

    out = records.copy()
    cols = [c for c in out.columns if c not in ("source_row", "reason") and (
        out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype))]
    if cols and len(out):
        # one scrub over all cells stacked: the regex passes cost per call, not per value
        stacked = pd.concat([out[c].astype("string") for c in cols], ignore_index=True)
        scrubbed = scrub_text(stacked).where(stacked.notna()).to_numpy(dtype=object)
        for i, c in enumerate(cols):
            out[c] = scrubbed[i * len(out):(i + 1) * len(out)]
    return escape_formulas(out)


def write_quarantine(records: pd.DataFrame, path: Path) -> Path | None:
    """Write quarantine records atomically (temp file + rename); ``None`` if there are none."""
    if records.empty:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    out = _safe_for_spreadsheet(records.sort_values(["source_row", "reason"], kind="stable"))
    # CRLF rows: a bare CR inside a raw value is then quoted (see geo.store.export.write_table)
    out.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    os.replace(tmp, path)
    return path


def read_quarantine(path: str | Path) -> pd.DataFrame:
    """Read a quarantine file back (all values as text)."""
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
