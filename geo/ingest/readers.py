"""Readers of raw event exports: CSV, XLSX, GeoJSON, (Geo)Parquet -- the entry point :func:`read_raw`.

Every reader returns a :class:`RawTable`: the file's columns as text, exactly
as the file holds them apart from decoding, plus ``_row`` — the row number a
person sees when they open the file (spreadsheet row; the header is row 1, so
the first data row is 2; for GeoJSON and Parquet the 1-based record index).
Rows that cannot be read (a CSV line with the wrong number of fields) do not
fail the file: they are returned in :attr:`RawTable.bad_rows` with a reason so
the pipeline can quarantine them, and the counts reconcile::

    len(frame) + len(bad_rows) + blank_rows == data rows in the file

Whole-file problems (unknown format, undetectable encoding, empty file,
binary garbage, macro workbooks) raise :class:`~geo.errors.InputFileError`
with a message that says what was found and how to fix it.

Interpretation (types, coordinates, categories, times) is not done here.

Performance: CSV is parsed by Arrow's C++ reader (single-threaded so that
row numbers of malformed lines are known; on two cores this is also the
fastest; it validates UTF-8 as it goes), GBK is transcoded in bulk.
XLSX uses python-calamine (Rust) when installed, openpyxl otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from geo.errors import InputFileError
from geo.ingest.csvreader import read_csv
from geo.ingest.csvscan import sniff_delimiter
from geo.ingest.filecheck import sniff_magic
from geo.ingest.geojsonreader import read_geojson
from geo.ingest.parquetreader import read_parquet
from geo.ingest.rawtable import BAD_ROW_COLUMNS, GEOM_LAT, GEOM_LON, REFUSED_EXT, ROW_COLUMN, RawTable
from geo.ingest.textencoding import detect_encoding
from geo.ingest.xlsxreader import read_xlsx
from geo.settings import IngestSettings

__all__ = [
    "RawTable", "read_raw", "detect_encoding", "sniff_delimiter", "FORMATS", "ROW_COLUMN",
    "GEOM_LON", "GEOM_LAT", "BAD_ROW_COLUMNS",
]

FORMATS = ("csv", "xlsx", "geojson", "geoparquet", "parquet")
Format = Literal["csv", "xlsx", "geojson", "geoparquet", "parquet"]

_CSV_EXT = {".csv", ".tsv", ".txt", ".tab"}
_XLSX_EXT = {".xlsx"}
_JSON_EXT = {".geojson", ".json"}
_PARQUET_EXT = {".parquet", ".geoparquet", ".pq"}


def read_raw(path: str | Path, *, encoding: str | None = None, sheet: str | int | None = None,
             delimiter: str | None = None, max_field_lines: int | None = None,
             max_record_mb: float | None = None) -> RawTable:
    """Read one export file as text columns, with spreadsheet row numbers.

    Parameters
    ----------
    path
        ``.csv``/``.tsv``/``.txt``, ``.xlsx``, ``.geojson``/``.json`` or
        ``.parquet``/``.geoparquet``.
    encoding
        Text encoding of CSV/GeoJSON; detected when ``None``
        (see :func:`detect_encoding`).
    sheet
        XLSX sheet name or 0-based index; default the first visible sheet.
    delimiter
        CSV field delimiter; sniffed among ``, \\t ; |`` when ``None``.
    max_field_lines, max_record_mb
        Runaway-quote bounds of CSV (``ingest.max_field_lines``, ``ingest.max_record_mb``;
        the settings' defaults when ``None``), see :mod:`geo.ingest.csvrecords`.

    Returns
    -------
    RawTable

    Raises
    ------
    InputFileError
        Missing, empty, binary or refused files (``.xlsm``, ``.xls``, unknown
        extensions), undetectable encodings, a delimiter that does not split
        the header.  Malformed rows never raise: see ``RawTable.bad_rows``.
    """
    p = Path(path)
    name = str(p)
    if not p.exists():
        raise InputFileError("file not found; check the path", file=name)
    if p.is_dir():
        raise InputFileError("this is a folder, not a file", file=name)
    ext = p.suffix.lower()
    if ext in REFUSED_EXT:
        raise InputFileError(REFUSED_EXT[ext], file=name)
    known = _CSV_EXT | _XLSX_EXT | _JSON_EXT | _PARQUET_EXT
    if ext not in known:
        raise InputFileError(
            f"unknown file type {ext or '(no extension)'!r}; supported: .csv/.tsv/.txt (text), "
            ".xlsx (Excel), .geojson/.json (GeoJSON), .parquet/.geoparquet", file=name)
    if p.stat().st_size == 0:
        raise InputFileError("file is empty (0 bytes)", file=name)
    with p.open("rb") as fh:
        head = fh.read(8)
    magic = sniff_magic(head)
    if ext in _XLSX_EXT:
        if magic == "ole":
            raise InputFileError(REFUSED_EXT[".xls"] + " (this .xlsx is really an .xls file)",
                                 file=name)
        return read_xlsx(p, sheet)
    if ext in _PARQUET_EXT:
        return read_parquet(p)
    if magic == "zip":
        raise InputFileError("this is a ZIP/Excel file, not text; if it is a workbook rename it "
                             "to .xlsx", file=name)
    if magic == "ole":
        raise InputFileError(REFUSED_EXT[".xls"] + " (this file is an old Excel workbook)",
                             file=name)
    if magic == "parquet":
        raise InputFileError("this is a Parquet file; rename it to .parquet", file=name)
    raw = p.read_bytes()
    if ext in _JSON_EXT:
        return read_geojson(p, raw, encoding)
    if not re.search(rb"[^\s\xef\xbb\xbf]", raw[:1 << 20]) and not raw.strip():
        raise InputFileError("file is empty (no header line)", file=name)
    lim = IngestSettings()
    return read_csv(p, raw, encoding, delimiter,
                    max_field_lines=max_field_lines or lim.max_field_lines,
                    max_record_mb=max_record_mb or lim.max_record_mb)
