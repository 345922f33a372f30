"""Readers of raw event exports: CSV, XLSX, GeoJSON, (Geo)Parquet.

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

import codecs
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import unescape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from geo.errors import InputFileError
from geo.ingest.filecheck import BOM_UTF16, check_xlsx_package, looks_binary, sniff_magic
from geo.ingest.textnorm import normalize_scalar

__all__ = [
    "RawTable", "read_raw", "detect_encoding", "sniff_delimiter", "FORMATS", "ROW_COLUMN",
    "GEOM_LON", "GEOM_LAT", "BAD_ROW_COLUMNS",
]

ROW_COLUMN = "_row"
GEOM_LON = "_geom_lon"
GEOM_LAT = "_geom_lat"
BAD_ROW_COLUMNS = ("_row", "reason", "detail", "text")
FORMATS = ("csv", "xlsx", "geojson", "geoparquet", "parquet")
Format = Literal["csv", "xlsx", "geojson", "geoparquet", "parquet"]

_CSV_EXT = {".csv", ".tsv", ".txt", ".tab"}
_XLSX_EXT = {".xlsx"}
_JSON_EXT = {".geojson", ".json"}
_PARQUET_EXT = {".parquet", ".geoparquet", ".pq"}
_REFUSED_EXT = {
    ".xlsm": "macro-enabled workbooks (.xlsm) are refused for safety; open it in Excel and "
             "save it as .xlsx (Excel Workbook) or CSV UTF-8, then read that file",
    ".xltm": "macro-enabled templates (.xltm) are refused for safety; save as .xlsx or CSV UTF-8",
    ".xlsb": "binary workbooks (.xlsb) are not supported; save as .xlsx or CSV UTF-8",
    ".xls": "legacy Excel 97-2003 workbooks (.xls) are not supported; save as .xlsx or CSV UTF-8",
    ".et": "WPS spreadsheets (.et) are not supported; save as .xlsx or CSV UTF-8",
    ".ods": "OpenDocument spreadsheets (.ods) are not supported; save as .xlsx or CSV UTF-8",
}

_BOM_UTF8 = b"\xef\xbb\xbf"
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "euc_cn", "hz", "hz_gb_2312", "ms936"}
_SAMPLE_BYTES = 256 * 1024
# Below this many non-ASCII characters charset statistics are unreliable and the
# domain prior (Chinese government exports) decides between GB18030 and the rest.
_SMALL_SAMPLE_CHARS = 200
_DELIMITERS = (",", "\t", ";", "|")
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_STR = pd.StringDtype("pyarrow", na_value=np.nan)
_DELIMITER_ALIASES = {"comma": ",", "tab": "\t", "\\t": "\t", "semicolon": ";", "pipe": "|",
                      "，": ",", "；": ";", "｜": "|"}


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
    """

    frame: pd.DataFrame
    path: Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    declared_crs: str | None = None
    sheet: str | None = None
    bad_rows: pd.DataFrame = field(default_factory=lambda: _empty_bad_rows())
    blank_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The headers to map: every column but ``_row`` (``_geom_lon``/``_geom_lat``
        included — they are the file's point geometry, see :func:`geo.ingest.map_columns`)."""
        return [c for c in self.frame.columns if c != ROW_COLUMN]

    @property
    def n_rows(self) -> int:
        return len(self.frame)


def _empty_bad_rows() -> pd.DataFrame:
    return pd.DataFrame({
        "_row": pd.Series([], dtype="int64"),
        "reason": pd.Series([], dtype="str"),
        "detail": pd.Series([], dtype="str"),
        "text": pd.Series([], dtype="str"),
    })


def _bad_rows(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    if not rows:
        return _empty_bad_rows()
    r, reason, detail, text = zip(*rows, strict=True)
    return pd.DataFrame({
        "_row": np.asarray(r, dtype="int64"),
        "reason": pd.Series(reason, dtype="str"),
        "detail": pd.Series(detail, dtype="str"),
        "text": pd.Series(text, dtype="str"),
    })


# --------------------------------------------------------------------------- encoding


def _line_of(raw: bytes, pos: int) -> int:
    return raw.count(b"\n", 0, pos) + 1




def _valid_utf8(raw: bytes) -> int | None:
    """``None`` if ``raw`` is valid UTF-8, else the byte offset of the first error."""
    buf = pa.py_buffer(raw)
    offsets = pa.array([0, len(raw)], pa.int64()).buffers()[1]
    arr = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, buf])
    try:
        arr.cast(pa.large_string())  # one SIMD validation pass
        return None
    except pa.ArrowInvalid:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return exc.start
        return None


def _gb_level1_ratio(text: str) -> tuple[float, int]:
    """Share of non-ASCII characters that are common GB2312 hanzi or CJK punctuation."""
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return 0.0, 0
    common = 0
    for c in non_ascii:
        try:
            lead = c.encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        common += (0xB0 <= lead <= 0xD7) or (0xA1 <= lead <= 0xA9)
    return common / len(non_ascii), len(non_ascii)


def _sample_is_utf8(sample: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        return False


def _detect_bytes(raw: bytes, name: str, *, verify: bool = True, sample_only: bool = False) -> str:
    """Encoding of ``raw`` (see :func:`detect_encoding`).

    ``sample_only``: answer ``"utf-8"`` when the first 256 KiB are UTF-8
    without validating the rest (the CSV parser validates as it goes).
    """
    if raw.startswith(_BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith(BOM_UTF16):
        return "utf-16"
    sample = raw[:_SAMPLE_BYTES]
    if looks_binary(sample):
        raise InputFileError(
            "this is not a text file (it contains NUL/control bytes); if it is a spreadsheet or "
            "Parquet file give it the right extension (.xlsx, .parquet); UTF-16 text needs a "
            "byte-order mark; otherwise export the data again as CSV UTF-8", file=name)
    if sample_only and _sample_is_utf8(sample):
        return "utf-8"
    bad = _valid_utf8(raw)
    if bad is None:
        return "utf-8"
    import charset_normalizer  # imported lazily: only non-UTF-8 files need it

    # Cut the sample at a line end so no multi-byte character is split.
    cut = sample.rfind(b"\n")
    if 0 < cut < len(sample) - 1:
        sample = sample[: cut + 1]
    best = charset_normalizer.from_bytes(sample).best()
    detected = best.encoding if best is not None else None
    names = {detected} | set(best.could_be_from_charset if best is not None else ())
    gb_ok = True
    try:
        text = sample.decode("gb18030")
    except UnicodeDecodeError:
        gb_ok, text = False, ""
    ratio, n_non_ascii = _gb_level1_ratio(text) if gb_ok else (0.0, 0)
    is_gb = bool(names & _GB_FAMILY) or (
        gb_ok and n_non_ascii < _SMALL_SAMPLE_CHARS and ratio >= 0.85
        and detected not in {"big5", "big5hkscs", "cp950"})
    if is_gb and gb_ok:
        if verify:
            try:
                raw.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise InputFileError(
                    f"the file looks like GBK/GB18030 but byte {exc.start} (line "
                    f"{_line_of(raw, exc.start)}) is not valid in it: the file mixes encodings; "
                    "re-save it as CSV UTF-8, or pass --encoding with the right one",
                    file=name) from None
        return "gb18030"
    what = (f"it looks like {detected}" + (f" ({best.language})" if best is not None
                                            and best.language not in ("", "Unknown") else "")
            if detected else "its encoding could not be recognised")
    raise InputFileError(
        f"the file is not UTF-8 (invalid byte at offset {bad}, line {_line_of(raw, bad)}) and not "
        f"GBK/GB18030; {what}. Re-save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8), "
        "or pass --encoding NAME (or encoding = \"NAME\" under [options] in the mapping file) "
        "if you know the encoding", file=name)


def detect_encoding(path: str | Path) -> str:
    """Detect the text encoding of a file, or explain why it cannot be read.

    Rules, in order: a UTF-8 byte-order mark gives ``"utf-8-sig"`` (a UTF-16
    BOM, as in Excel's "Unicode text", gives ``"utf-16"``); a file that is
    valid UTF-8 throughout gives ``"utf-8"``; otherwise charset-normalizer
    inspects a sample and any GBK/GB2312/GB18030 result gives ``"gb18030"``
    (their superset), verified by decoding the whole file.  Samples with only
    a few Chinese characters, where statistics say little, are taken as
    GB18030 when they decode to common GB2312 characters.

    Raises
    ------
    InputFileError
        Binary content, an encoding other than UTF-8/GB18030, or a file mixing
        encodings; the message says what was detected and how to fix it.
    """
    p = Path(path)
    return _detect_bytes(p.read_bytes(), str(p))


def _normalize_encoding(encoding: str, name: str) -> str:
    enc = encoding.strip().lower().replace("_", "-")
    if enc in {"gbk", "gb2312", "cp936", "gb-2312", "gb18030", "gb-18030"}:
        return "gb18030"
    if enc in {"utf8", "utf-8"}:
        return "utf-8"
    if enc in {"utf8-sig", "utf-8-sig", "utf-8-bom"}:
        return "utf-8-sig"
    try:
        return codecs.lookup(enc).name
    except LookupError:
        raise InputFileError(
            f"unknown encoding {encoding!r}; use e.g. utf-8, utf-8-sig, gb18030 (covers GBK/GB2312)",
            file=name) from None


def _to_utf8(raw: bytes, encoding: str, name: str, *, validated: bool = False) -> bytes:
    """Transcode ``raw`` to UTF-8 without BOM (bulk, strict)."""
    if encoding in ("utf-8", "utf-8-sig"):
        data = raw[3:] if raw.startswith(_BOM_UTF8) else raw
        bad = None if validated else _valid_utf8(data)
        if bad is not None:
            raise InputFileError(
                f"byte {bad} (line {_line_of(data, bad)}) is not valid UTF-8: the file is in "
                "another encoding or mixes encodings; re-save it as CSV UTF-8 or pass --encoding "
                "(e.g. gb18030 for GBK exports)", file=name)
        return data
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"byte {exc.start} (line {_line_of(raw, exc.start)}) is not valid {encoding}: "
            "the file is in another encoding or mixes encodings; re-save it as CSV UTF-8 or "
            "pass the right --encoding", file=name) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.encode("utf-8")


# --------------------------------------------------------------------------- CSV


def _normalize_delimiter(delimiter: str, name: str) -> str:
    d = _DELIMITER_ALIASES.get(delimiter.strip().lower() if delimiter.strip() else delimiter,
                               delimiter)
    if len(d) != 1 or d in "\"\r\n":
        raise InputFileError(
            f"delimiter {delimiter!r} is not a single character; use one of ',', ';', '|', "
            "'\\t' (or the words comma, semicolon, pipe, tab)", file=name)
    return d


def _field_counts(sample: str, delimiter: str, max_records: int = 200) -> list[tuple[int, int]]:
    """(fields, physical lines consumed so far) of the first non-blank records of ``sample``."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"',
                        doublequote=True, strict=False)
    counts: list[tuple[int, int]] = []
    try:
        for rec in reader:
            if rec and any(f.strip() for f in rec):
                counts.append((len(rec), reader.line_num))
            if len(counts) >= max_records:
                break
    except csv.Error:
        pass
    return counts


@dataclass(frozen=True)
class _Sniff:
    delimiter: str
    n_fields: int
    """Fields of the header (after any preamble)."""
    preamble_records: int
    """Title lines above the header (at most half the header's fields, at most 5)."""
    preamble_lines: int
    pad: int = 0
    """Fields to add to (>0) or drop from (<0) the header so it matches the data rows:
    exporters that end every data row — or only the header — with a delimiter."""


def _sniff(sample: str, delimiter: str) -> _Sniff:
    counts = _field_counts(sample, delimiter)
    if not counts:
        return _Sniff(delimiter, 1, 0, 0)
    n = [c for c, _ in counts]
    values, freq = np.unique(n, return_counts=True)
    mode = int(values[np.argmax(freq)]) if len(n) > 2 else n[0]
    k = next((i for i, c in enumerate(n) if c * 2 > mode), 0)
    if k > 5:
        k = 0
    header = n[k]
    pad = 0
    data = n[k + 1:]
    if data:
        dv, df = np.unique(data, return_counts=True)
        dmode, share = int(dv[np.argmax(df)]), df.max() / len(data)
        if dmode != header and share >= 0.9:
            if dmode > header:
                pad = dmode - header
            else:
                head_fields = next(csv.reader(io.StringIO(
                    sample.splitlines()[counts[k - 1][1] if k else 0] + "\n"), delimiter=delimiter))
                if all(not f.strip() for f in head_fields[dmode:]):
                    pad = dmode - header
    return _Sniff(delimiter, header, k, counts[k - 1][1] if k else 0, pad)


def _sniff_score(sample: str, d: str) -> tuple[tuple[float, ...], _Sniff]:
    sn = _sniff(sample, d)
    n = [c for c, _ in _field_counts(sample, d)][sn.preamble_records:]
    rest = n[1:]
    target = sn.n_fields + sn.pad
    consistency = (sum(c == target for c in rest) / len(rest)) if rest else 1.0
    return (float(sn.n_fields > 1), consistency, float(sn.n_fields)), sn


def sniff_delimiter(sample: str, prefer: str | None = None) -> tuple[str, int]:
    """Pick the field delimiter among ``, \\t ; |`` from the first lines of a file.

    The winner splits the header into more than one field and has the largest
    share of following records with the same number of fields (ties: more
    fields, then ``prefer``, then the order above).

    Returns
    -------
    (delimiter, n_header_fields)
        ``n_header_fields`` is 1 when no candidate splits the header.
    """
    sn = _sniff_best(sample, prefer)
    return sn.delimiter, sn.n_fields


def _sniff_best(sample: str, prefer: str | None) -> _Sniff:
    # A sample cut mid-file may end inside a record: drop the last line.
    if len(sample) >= _SAMPLE_BYTES // 4 and "\n" in sample.rstrip("\n"):
        sample = sample[: sample.rstrip("\n").rfind("\n") + 1]
    best: tuple[tuple[float, ...], _Sniff] | None = None
    for i, d in enumerate(_DELIMITERS):
        score, sn = _sniff_score(sample, d)
        score = score + (float(d == prefer), -float(i))
        if best is None or score > best[0]:
            best = (score, sn)
    if best is None or best[1].n_fields <= 1:
        return _Sniff(prefer or ",", 1, 0, 0)
    return best[1]


def _dedupe(names: list[str | None], reserved: tuple[str, ...] = (ROW_COLUMN, GEOM_LON, GEOM_LAT)
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


_LINE_BREAK = re.compile(rb"\r\n|\n|\r")


def _next_line(data: bytes, pos: int) -> int:
    """Offset just after the line break at or after ``pos`` (CRLF, LF or CR)."""
    m = _LINE_BREAK.search(data, pos)
    return m.end() if m else len(data)


_LEADING_BLANK = re.compile(rb"\A(?:[ \t]*\r?\n|[ \t]*\r(?!\n))+")


def _read_csv(path: Path, raw: bytes, encoding: str | None, delimiter: str | None) -> RawTable:
    name = str(path)
    if encoding:
        enc = _normalize_encoding(encoding, name)
        data = _to_utf8(raw, enc, name)
        return _parse_csv(path, data, enc, delimiter)
    enc = _detect_bytes(raw, name, verify=False, sample_only=True)
    data = _to_utf8(raw, enc, name, validated=True)
    try:
        return _parse_csv(path, data, enc, delimiter)
    except _NotUTF8:
        # The first 256 KiB were UTF-8 but a later line is not: detect on the whole file.
        enc = _detect_bytes(raw, name, verify=False)
        return _parse_csv(path, _to_utf8(raw, enc, name), enc, delimiter)


class _NotUTF8(Exception):
    pass


def _parse_csv(path: Path, data: bytes, enc: str, delimiter: str | None) -> RawTable:
    """Parse UTF-8 ``data`` (see :func:`read_raw`)."""
    name = str(path)
    m = _LEADING_BLANK.match(data)
    skipped = 0
    if m:
        skipped = len(_LINE_BREAK.findall(m.group(0)))
        data = data[m.end():]
    if not data[:1 << 20].strip() and not data.strip():
        raise InputFileError("file is empty (no header line); export the data again", file=name)

    sample = data[:_SAMPLE_BYTES].decode("utf-8", errors="ignore")
    prefer = "\t" if path.suffix.lower() in {".tsv", ".tab"} else None
    best = _sniff_best(sample, prefer)
    if delimiter:
        delim = _normalize_delimiter(delimiter, name)
        sn = _sniff(sample, delim)
        if sn.n_fields == 1 and best.n_fields > 1 and best.delimiter != delim:
            raise InputFileError(
                f"with delimiter {_DELIMITER_NAMES.get(delim, repr(delim))} the header is a single "
                f"column, but the file looks {_DELIMITER_NAMES[best.delimiter]}-separated "
                f"({best.n_fields} columns); pass --delimiter {_DELIMITER_NAMES[best.delimiter]} or "
                "leave the delimiter out to detect it", file=name)
    else:
        sn = best
        delim = best.delimiter
    notes: list[str] = []
    if sn.preamble_lines:
        # Title lines above the header ("12345工单导出 2024-03"): skip, keep numbering.
        cut = 0
        for _ in range(sn.preamble_lines):
            cut = _next_line(data, cut)
        notes.append(f"skipped {sn.preamble_lines} title line(s) above the header")
        skipped += len(_LINE_BREAK.findall(data[:cut]))
        data = data[cut:]
        m = _LEADING_BLANK.match(data)
        if m:
            skipped += len(_LINE_BREAK.findall(m.group(0)))
            data = data[m.end():]
    n_header = sn.n_fields
    m_end = _LINE_BREAK.search(data)
    header_line = data[: m_end.start() if m_end else len(data)]
    pad = sn.pad if b'"' not in header_line else 0
    if pad:
        d = delim.encode()
        if pad > 0:
            fixed = header_line + d * pad
        else:
            fixed = header_line.rstrip(b" \t")
            fixed = fixed[: len(fixed) + pad] if fixed.endswith(d * -pad) else header_line
        if fixed != header_line:
            notes.append(f"the header had {n_header} fields and the data rows {n_header + pad}: "
                         + ("added empty header fields" if pad > 0 else "ignored trailing empty "
                            "header fields"))
            data = fixed + data[len(header_line):]
            n_header += pad
        else:
            pad = 0

    invalid: list[tuple[int, str, str, str]] = []
    blank_numbers: list[int] = []

    def on_invalid(row: Any) -> str:
        text = row.text or ""
        number = row.number if row.number is not None else -1
        if not text.strip(delim + " \t\r\n"):
            blank_numbers.append(number)
        else:
            invalid.append((number, "ragged_row",
                            f"{row.actual_columns} fields, the header has {row.expected_columns}",
                            text[:2000]))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=False, autogenerate_column_names=True,
                                           block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char='"', double_quote=True,
                                             escape_char=False, newlines_in_values=True,
                                             ignore_empty_lines=False,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.large_string()
                              for i in range(max(n_header * 2, n_header + 64))},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
                check_utf8=True),
        )
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
            raise _NotUTF8() from None
        raise InputFileError(f"cannot parse the CSV: {exc}; check the quoting (an unclosed \" "
                             "makes the rest of the file one field)", file=name) from None
    if any(n < 0 for n, *_ in invalid) or any(n < 0 for n in blank_numbers):
        raise RuntimeError("pyarrow did not report row numbers of malformed CSV rows")

    # Physical record numbers (header = 1) of the rows Arrow kept, in order.
    skipped_numbers = np.sort(np.asarray([n for n, *_ in invalid] + blank_numbers, dtype=np.int64))
    total = table.num_rows + len(skipped_numbers)
    kept = np.setdiff1d(np.arange(1, total + 1, dtype=np.int64), skipped_numbers, assume_unique=True)

    header_vals = [table.column(i)[0].as_py() if table.num_rows else None
                   for i in range(table.num_columns)]
    names = _dedupe(header_vals)
    body = table.slice(1)
    if pad > 0:
        # Padded header fields: keep them only if some row has data there.
        extra = [i for i in range(body.num_columns - pad, body.num_columns)
                 if body.column(i).null_count == body.num_rows]
        if extra:
            keep_i = [i for i in range(body.num_columns) if i not in extra]
            body = body.select(keep_i)
            names = [names[i] for i in keep_i]
    body_rows = kept[1:] + skipped
    cols = {}
    for n, col in zip(names, body.columns, strict=True):
        cols[n] = col
    # Rows whose every field is empty (",,,," or an empty line) are blank, not data.
    if body.num_columns and body.num_rows:
        blank = np.ones(body.num_rows, dtype=bool)
        for col in body.columns:
            blank &= col.is_null().to_numpy(zero_copy_only=False)
    else:
        blank = np.zeros(body.num_rows, dtype=bool)
    all_blank_rows = np.concatenate([body_rows[blank],
                                     np.asarray(blank_numbers, dtype=np.int64) + skipped])
    frame = _frame_from_arrow(cols, body_rows, keep=~blank)
    last_data = max(int(frame[ROW_COLUMN].max()) if len(frame) else 1,
                    max((n for n, *_ in invalid), default=1) + skipped)
    bad = _bad_rows([(n + skipped, r, d, t) for n, r, d, t in invalid])
    return RawTable(frame=frame, path=path, format="csv", encoding=enc, delimiter=delim,
                    bad_rows=bad, blank_rows=int((all_blank_rows < last_data).sum()), notes=notes)


def _frame_from_arrow(cols: dict[str, pa.ChunkedArray | pa.Array], rows: np.ndarray,
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


def _fmt_float_array(arr: pa.Array) -> pa.Array:
    """Numbers as their text: integers without '.0', others in shortest round-trip form."""
    f = pc.cast(arr, pa.float64())
    finite = pc.is_finite(f)
    integral = pc.and_(finite, pc.and_(pc.equal(pc.floor(f), f), pc.less(pc.abs(f), 2.0 ** 53)))
    as_int = pc.cast(pc.cast(pc.if_else(integral, f, 0.0), pa.int64()), pa.large_string())
    return pc.if_else(integral, as_int, pc.cast(f, pa.large_string()))


def _fmt_timestamp_array(arr: pa.Array, round_to_second: bool) -> pa.Array:
    """Timestamps as ``YYYY-MM-DD HH:MM:SS`` (``+HHMM`` appended when tz-aware).

    Excel stores times as fractions of a day, so 08:30 comes back as
    08:29:59.99999; ``round_to_second`` rounds as Excel displays.  Real
    sub-second parts (Parquet) are kept as a decimal fraction.
    """
    if pa.types.is_date(arr.type):
        # A spreadsheet date cell reads as midnight (as openpyxl gives it); Parquet dates stay dates.
        fmt = "%Y-%m-%d 00:00:00" if round_to_second else "%Y-%m-%d"
        return pc.cast(pc.strftime(arr, format=fmt), pa.large_string())
    tz = arr.type.tz
    if arr.type.unit != "s":
        if round_to_second:
            arr = pc.round_temporal(arr, unit="second")
        whole = pc.all(pc.equal(pc.floor_temporal(arr, unit="second"), arr)).as_py()
        if whole is None or whole:
            arr = arr.cast(pa.timestamp("s", tz))
    fmt = "%Y-%m-%d %H:%M:%S" + ("%z" if tz else "")
    return pc.cast(pc.strftime(arr, format=fmt), pa.large_string())


def _fmt_one(v: Any, bool_text: tuple[str, str] = ("TRUE", "FALSE")) -> str | None:
    """Text of one cell value of any Python type (fallback path)."""
    import datetime as dt

    if v is None or (isinstance(v, str) and v == ""):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool_text[0] if v else bool_text[1]
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if v != v:
            return None
        if float(v).is_integer() and abs(v) < 2 ** 53:
            return str(int(v))
        return repr(float(v))
    if isinstance(v, dt.datetime):
        if v.microsecond:
            v = (v + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d 00:00:00")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, dt.timedelta):
        secs = round(v.total_seconds())
        return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _objects_to_text(values: list[Any], bool_text: tuple[str, str] = ("TRUE", "FALSE")) -> pa.Array:
    """Cell values (str/float/int/bool/datetime/None, possibly mixed) → Arrow text.

    Homogeneous columns are converted in bulk by Arrow; only mixed columns
    format value by value.
    """
    vals = [None if (v == "" if isinstance(v, str) else False) else v for v in values]
    try:
        arr = pa.array(vals, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_fmt_one(v, bool_text) for v in vals], type=pa.large_string())
    t = arr.type
    if pa.types.is_null(t):
        return pa.nulls(len(vals), pa.large_string())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.large_string())
    if pa.types.is_boolean(t):
        return pc.if_else(arr, pa.scalar(bool_text[0], pa.large_string()),
                          pa.scalar(bool_text[1], pa.large_string()))
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return _fmt_float_array(arr) if pa.types.is_floating(t) else pc.cast(arr, pa.large_string())
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _fmt_timestamp_array(arr, round_to_second=True)
    return pa.array([_fmt_one(v, bool_text) for v in vals], type=pa.large_string())


def _arrow_column_to_text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A typed Arrow column (Parquet) as text, like :func:`_objects_to_text`."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else (col.chunk(0) if col.num_chunks
                                                                  else pa.array([], col.type))
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.dictionary_decode()
        t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.large_string())
    if pa.types.is_floating(t):
        return _fmt_float_array(col)
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        return pc.cast(col, pa.large_string())
    if pa.types.is_boolean(t):
        return pc.if_else(col, pa.scalar("true", pa.large_string()), pa.scalar("false", pa.large_string()))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _fmt_timestamp_array(col, round_to_second=False)
    return pa.array([_fmt_one(v) for v in col.to_pylist()], type=pa.large_string())


# --------------------------------------------------------------------------- XLSX

_CRS_LABEL = re.compile(
    r"^(?:坐标系|坐标系统|坐标参考系|坐标参考系统|空间参考|空间参考系|参考系|投影|crs|srs|"
    r"coordinate\s*(?:reference\s*)?system|spatial\s*reference)\s*[:=]?\s*(.*)$",
    re.IGNORECASE)
_META_SHEETS = ("说明", "readme", "notes", "note", "metadata", "元数据", "备注", "数据说明", "字段说明")


def _empty_cell(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _header_index(rows: list[list[Any]]) -> int:
    """Index of the header row among the first rows of a sheet: the first row at
    least half as full as the fullest one, which skips title rows such as a
    merged "2024年违法记录" cell.  -1 if all are empty."""
    counts = [sum(not _empty_cell(v) for v in r) for r in rows]
    if not counts or max(counts) == 0:
        return -1
    need = max(min(2, max(counts)), (max(counts) + 1) // 2)
    return next(i for i, c in enumerate(counts) if c >= need)


def _table_from_grid(grid: list[list[Any]], name: str
                     ) -> tuple[dict[str, pa.Array], np.ndarray, int, int]:
    """Header detection, blank-row removal and column naming for a sheet.

    ``grid`` is the sheet from cell A1 (row ``i`` is sheet row ``i + 1``).
    Returns text columns, their ``_row`` numbers, the number of interior
    blank rows and the header's sheet row.  Columns beyond the header that
    hold data get ``Unnamed: i``.
    """
    h = _header_index(grid[:30])
    if h < 0:
        raise InputFileError("the sheet is empty (no header row); pick another sheet with "
                             "--sheet", file=name)
    body = grid[h + 1:]
    width = max([len(grid[h])] + [len(r) for r in body])
    header = list(grid[h]) + [None] * (width - len(grid[h]))
    padded = [r if len(r) == width else list(r) + [None] * (width - len(r)) for r in body]
    cols = [_objects_to_text(list(c)) for c in zip(*padded, strict=True)] if padded else \
        [pa.array([], pa.large_string()) for _ in range(width)]
    n = len(body)
    has_data = np.zeros(n, dtype=bool)
    col_has_data = []
    for c in cols:
        v = c.is_valid().to_numpy(zero_copy_only=False)
        col_has_data.append(bool(v.any()))
        has_data |= v
    keep = [j for j in range(width) if not _empty_cell(header[j]) or col_has_data[j]]
    names = _dedupe([_fmt_one(header[j]) for j in keep])
    rows = np.arange(h + 2, h + 2 + n, dtype=np.int64)
    last = int(np.flatnonzero(has_data)[-1]) + 1 if has_data.any() else 0
    blank = int((~has_data[:last]).sum())
    mask = pa.array(has_data, pa.bool_())
    out = {nm: cols[j].filter(mask) for nm, j in zip(names, keep, strict=True)}
    return out, rows[has_data], blank, h + 1


def _xlsx_sheet_paths(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → XML part name, from workbook.xml and its relationships."""
    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for r in rels:
        tgt = r.get("Target", "")
        tgt = tgt.lstrip("/") if tgt.startswith("/") else "xl/" + tgt
        targets[r.get("Id")] = tgt
    out = {}
    for s in wb.iter(f"{ns_main}sheet"):
        rid = s.get(f"{ns_rel}id")
        if rid in targets:
            out[s.get("name", "")] = targets[rid]
    return out


_F_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f(?=[\s>/])")
_CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})(\d+)"')
_F_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _xlsx_formulas(xml: bytes) -> dict[tuple[int, int], str] | None:
    """Formula text of every formula cell, keyed by 0-based (row, col).

    Returns ``None`` when a formula cell has no ``r`` reference (the caller then
    falls back to openpyxl).  Shared formulas are translated to each cell.
    """
    out: dict[tuple[int, int], str] = {}
    shared: dict[bytes, tuple[str, str]] = {}
    followers: list[tuple[int, int, bytes]] = []
    prefix_m = re.search(rb"<((?:[A-Za-z_][\w.-]*:)?)c[\s>]", xml)
    cell_open = b"<" + (prefix_m.group(1) if prefix_m else b"") + b"c"
    for m in _F_TAG.finditer(xml):
        start = xml.rfind(cell_open, 0, m.start())
        head_end = xml.find(b">", start)
        ref = _CELL_REF.search(xml, start, head_end + 1) if start >= 0 else None
        if ref is None:
            return None
        r, c = int(ref.group(2)) - 1, _col_index(ref.group(1))
        tag_end = xml.find(b">", m.end())
        attrs = dict(_F_ATTR.findall(xml[m.end():tag_end]))
        if xml[tag_end - 1:tag_end] == b"/":
            text = ""
        else:
            close = xml.find(b"</", tag_end)
            text = unescape(xml[tag_end + 1:close].decode("utf-8"), {"&quot;": '"', "&apos;": "'"})
        if attrs.get(b"t") == b"shared":
            si = attrs.get(b"si", b"")
            if text:
                shared[si] = (text, f"{ref.group(1).decode()}{ref.group(2).decode()}")
            else:
                followers.append((r, c, si))
                continue
        if text:
            out[(r, c)] = "=" + text
    if followers:
        from openpyxl.formula.translate import Translator
        from openpyxl.utils import get_column_letter

        for r, c, si in followers:
            if si in shared:
                text, origin = shared[si]
                dest = f"{get_column_letter(c + 1)}{r + 1}"
                out[(r, c)] = Translator("=" + text, origin=origin).translate_formula(dest)
    return out


def _calamine() -> Any | None:
    try:
        import python_calamine
    except ImportError:
        return None
    return python_calamine


def _find_declared_crs(sheets: list[tuple[str, list[list[Any]]]]) -> str | None:
    """A 坐标系/CRS statement in metadata sheets: 'label | value' cells or 'label: value'."""
    def key(n: str) -> int:
        low = normalize_scalar(n) or ""
        return 0 if any(m in low.lower() for m in _META_SHEETS) else 1

    for _, grid in sorted(sheets, key=lambda s: key(s[0])):
        for i, row in enumerate(grid[:500]):
            for j, v in enumerate(row[:50]):
                if not isinstance(v, str):
                    continue
                text = normalize_scalar(v) or ""
                m = _CRS_LABEL.match(text)
                if not m:
                    continue
                val = m.group(1).strip(" :：=")
                if val:
                    return normalize_scalar(val)
                for cand in list(row[j + 1:j + 4]) + [r[j] if j < len(r) else None
                                                      for r in grid[i + 1:i + 2]]:
                    val = normalize_scalar(_fmt_one(cand)) if cand not in (None, "") else None
                    if val:
                        return val
    return None


def _sheet_names_calamine(wb: Any) -> tuple[list[str], list[str]]:
    meta = [m for m in wb.sheets_metadata if str(m.typ).rsplit(".", 1)[-1] == "WorkSheet"]
    names = [m.name for m in meta]
    visible = [m.name for m in meta if str(m.visible).rsplit(".", 1)[-1] == "Visible"]
    return names, visible or names


def _xlsx_calamine(path: Path, zf: zipfile.ZipFile, sheet: str | int | None, name: str
                   ) -> tuple[str, list[list[Any]], list[tuple[str, list[list[Any]]]]] | None:
    """(sheet name, grid from A1, other sheets) with python-calamine; formula cells get
    their formula text from the sheet XML.  ``None`` if that XML cannot be matched."""
    cal = _calamine()
    if cal is None:
        return None
    wb = cal.CalamineWorkbook.from_path(str(path))
    all_names, visible = _sheet_names_calamine(wb)
    if not all_names:
        raise InputFileError("the workbook has no worksheets", file=name)
    sheet_name = _pick_sheet(sheet, all_names, visible, name)
    part = _xlsx_sheet_paths(zf).get(sheet_name)
    if part is None or part not in zf.namelist():
        return None
    with zf.open(part) as fh:
        xml = fh.read()
    # Cheap byte test first: most exported sheets have no formula at all.
    has_f = (b"<f" in xml or b":f" in xml) and _F_TAG.search(xml) is not None
    formulas = _xlsx_formulas(xml) if has_f else {}
    if formulas is None:
        return None
    grid = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    for (r, c), text in formulas.items():
        while r >= len(grid):
            grid.append([])
        row = grid[r]
        if c >= len(row):
            row.extend([""] * (c + 1 - len(row)))
        row[c] = text
    others = [(n, wb.get_sheet_by_name(n).to_python(skip_empty_area=False, nrows=500))
              for n in all_names if n != sheet_name]
    return sheet_name, grid, others


def _xlsx_openpyxl(path: Path, sheet: str | int | None, name: str
                   ) -> tuple[str, list[list[Any]], list[tuple[str, list[list[Any]]]]]:
    """The same with openpyxl read-only (formulas as text, never evaluated; no macros)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_vba=False)
    try:
        all_names = list(wb.sheetnames)
        if not all_names:
            raise InputFileError("the workbook has no worksheets", file=name)
        visible = [n for n in all_names if wb[n].sheet_state == "visible"] or all_names
        sheet_name = _pick_sheet(sheet, all_names, visible, name)
        grid = [list(r) for r in wb[sheet_name].iter_rows(min_row=1, min_col=1, values_only=True)]
        others = [(n, [list(r) for r in wb[n].iter_rows(min_row=1, min_col=1, max_row=500,
                                                        values_only=True)])
                  for n in all_names if n != sheet_name]
    finally:
        wb.close()
    return sheet_name, grid, others


def _read_xlsx(path: Path, sheet: str | int | None) -> RawTable:
    name = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputFileError(
            "this is not a valid .xlsx workbook (not a ZIP package); if it is a CSV or text "
            "export, rename it to .csv; if it is an old .xls, save it as .xlsx", file=name) from None
    with zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names:
            raise InputFileError("this ZIP file is not an Excel workbook (no xl/workbook.xml)",
                                 file=name)
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            raise InputFileError(_REFUSED_EXT[".xlsm"] + " (this .xlsx contains macros)", file=name)
        # Zip-bomb guard for every caller (CLI ingest does not pass through check_upload):
        # real inflated sizes, not the declared ones, bounded by the default access limits.

        check_xlsx_package(path, name=name, refuse_active_content=False)
        got = _xlsx_calamine(path, zf, sheet, name)
    sheet_name, grid, others = got if got is not None else _xlsx_openpyxl(path, sheet, name)
    cols, rows, blank, header_row = _table_from_grid(grid, name)
    frame = _frame_from_arrow(cols, rows)
    notes = [f"the header is sheet row {header_row}; rows above it were skipped as titles"] \
        if header_row > 1 else []
    return RawTable(frame=frame, path=path, format="xlsx", encoding=None, sheet=sheet_name,
                    declared_crs=_find_declared_crs(others), blank_rows=blank, notes=notes)


def _pick_sheet(sheet: str | int | None, all_names: list[str], visible: list[str], name: str) -> str:
    if sheet is None or sheet == "":
        return visible[0]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.strip().isdigit()
                                  and sheet not in all_names):
        i = int(sheet)
        if 0 <= i < len(all_names):
            return all_names[i]
        raise InputFileError(f"sheet index {i} is out of range; the workbook has "
                             f"{len(all_names)} sheets: {', '.join(all_names)} (0-based)", file=name)
    if sheet in all_names:
        return sheet
    want = (normalize_scalar(sheet) or "").casefold()
    for n in all_names:
        if (normalize_scalar(n) or "").casefold() == want:
            return n
    raise InputFileError(f"no sheet named {sheet!r}; the workbook's sheets are: "
                         f"{', '.join(all_names)}", file=name)


# --------------------------------------------------------------------------- GeoJSON


def _crs_from_member(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return normalize_scalar(value)
    if isinstance(value, dict):
        props = value.get("properties") or {}
        if isinstance(props, dict):
            if props.get("name"):
                return normalize_scalar(props["name"])
            if props.get("code") is not None:
                return f"{str(value.get('type') or 'EPSG').upper()}:{props['code']}"
            if props.get("href"):
                return normalize_scalar(props["href"])
        for k in ("name", "code", "id"):
            if value.get(k):
                return normalize_scalar(value[k])
    return normalize_scalar(json.dumps(value, ensure_ascii=False))


def _point_xy(geom: Any) -> tuple[float, float]:
    try:
        if geom.get("type") == "Point":
            c = geom["coordinates"]
        elif geom.get("type") == "MultiPoint" and len(geom["coordinates"]) == 1:
            c = geom["coordinates"][0]
        else:
            return (np.nan, np.nan)
        return (float(c[0]), float(c[1]))
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return (np.nan, np.nan)


def _read_geojson(path: Path, raw: bytes, encoding: str | None) -> RawTable:
    name = str(path)
    if not raw[:1 << 20].strip() and not raw.strip():
        raise InputFileError("file is empty", file=name)
    enc = _normalize_encoding(encoding, name) if encoding else _detect_bytes(raw, name, verify=False)
    text = _to_utf8(raw, enc, name, validated=not encoding).decode("utf-8")
    try:
        # Numbers stay as written in the file (parse_float/parse_int keep the text).
        obj = json.loads(text, parse_float=str, parse_int=str)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                             file=name) from None
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        features = [obj]
    elif isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise InputFileError("the FeatureCollection has no 'features' list", file=name)
    else:
        kind = obj.get("type") if isinstance(obj, dict) else type(obj).__name__
        raise InputFileError(f"expected a GeoJSON FeatureCollection, got {kind!r}; export the "
                             "layer as GeoJSON (FeatureCollection of Point features)", file=name)
    declared = None
    if isinstance(obj, dict):
        for key in ("crs", "coordinate_system", "coordinateSystem", "coord_sys", "srs", "坐标系"):
            if key in obj:
                declared = _crs_from_member(obj[key])
                if declared:
                    break

    good = [i for i, f in enumerate(features) if isinstance(f, dict) and f.get("type") == "Feature"]
    bad = [(i + 1, "invalid_feature", "not a GeoJSON Feature object",
            json.dumps(f, ensure_ascii=False)[:2000])
           for i, f in enumerate(features) if not (isinstance(f, dict) and f.get("type") == "Feature")]
    feats = [features[i] for i in good]
    props = [f.get("properties") if isinstance(f.get("properties"), dict) else {} for f in feats]
    keys: dict[str, None] = {}
    for p in props:
        for k in p:
            keys.setdefault(k, None)
    if "id" not in keys and any("id" in f for f in feats):
        for f, p in zip(feats, props, strict=True):
            if "id" in f:
                p["id"] = f["id"]
        keys["id"] = None
    names = _dedupe(list(keys))
    cols = {nm: _objects_to_text([p.get(k) for p in props], ("true", "false"))
            for nm, k in zip(names, keys, strict=True)}
    xy = np.array([_point_xy(f.get("geometry")) for f in feats], dtype=np.float64).reshape(-1, 2)
    frame = _frame_from_arrow(cols, np.asarray(good, dtype=np.int64) + 1)
    frame[GEOM_LON] = xy[:, 0]
    frame[GEOM_LAT] = xy[:, 1]
    return RawTable(frame=frame, path=path, format="geojson", encoding=enc, declared_crs=declared,
                    bad_rows=_bad_rows(bad))


# --------------------------------------------------------------------------- (Geo)Parquet


def _wkb_points(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """x, y of WKB points (NaN for nulls, empties and other geometry types), vectorised."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    arr = arr.cast(pa.large_binary())
    n = len(arr)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if n == 0:
        return x, y
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    length = np.diff(offsets)
    start = offsets[:-1]
    ok = valid & (length >= 21)
    idx = np.flatnonzero(ok)
    if idx.size:
        s = start[idx]
        little = data[s] == 1
        tb = data[s[:, None] + np.arange(1, 5)]
        gtype = np.where(little, tb.view("<u4").ravel(), tb.view(">u4").ravel())
        # 2D point (1), ISO Z/M/ZM points (1001/2001/3001), EWKB points (flag bits).
        base = gtype & 0x0FFFFFFF
        has_srid = (gtype & 0x20000000) != 0
        off = np.where(has_srid, 9, 5)
        is_point = ((base % 1000) == 1) & (length[idx] >= off + 16)
        last = max(len(data) - 1, 0)
        xb = data[np.minimum((s + off)[:, None] + np.arange(8), last)]
        yb = data[np.minimum((s + off + 8)[:, None] + np.arange(8), last)]
        xv = np.where(little, xb.copy().view("<f8").ravel(), xb.copy().view(">f8").ravel())
        yv = np.where(little, yb.copy().view("<f8").ravel(), yb.copy().view(">f8").ravel())
        x[idx[is_point]] = xv[is_point]
        y[idx[is_point]] = yv[is_point]
        rest = idx[~is_point]
    else:
        rest = idx
    if rest.size:
        import shapely

        geoms = shapely.from_wkb(pc.take(arr, pa.array(rest)).to_numpy(zero_copy_only=False),
                                 on_invalid="ignore")
        # Points (empty ones give NaN) and, as for GeoJSON, single-point MultiPoints.
        kind = shapely.get_type_id(geoms)
        single = (kind == 4) & (shapely.get_num_geometries(geoms) == 1)
        geoms = np.where(single, shapely.get_geometry(geoms, 0), geoms)
        pts = (kind == 0) | single
        x[rest[pts]] = shapely.get_x(geoms[pts])
        y[rest[pts]] = shapely.get_y(geoms[pts])
    return x, y


def _crs_from_projjson(crs: Any) -> str | None:
    if crs is None:
        return None
    if isinstance(crs, str):
        return normalize_scalar(crs)
    if isinstance(crs, dict):
        ident = crs.get("id")
        if isinstance(ident, dict) and ident.get("authority") and ident.get("code") is not None:
            return f"{ident['authority']}:{ident['code']}"
        try:
            import pyproj

            c = pyproj.CRS.from_json_dict(crs)
            auth = c.to_authority()
            return f"{auth[0]}:{auth[1]}" if auth else c.name
        except Exception:  # any unreadable PROJJSON: report its name
            return normalize_scalar(crs.get("name"))
    return None


def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    name = str(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFileError(f"not a readable Parquet file ({exc}); export it again as Parquet "
                             "or CSV UTF-8", file=name) from None
    meta = table.schema.metadata or {}
    geo = None
    if b"geo" in meta:
        try:
            geo = json.loads(meta[b"geo"])
        except json.JSONDecodeError:
            geo = None
    geom_cols: dict[str, dict] = {}
    declared = None
    if isinstance(geo, dict) and isinstance(geo.get("columns"), dict):
        geom_cols = {k: v for k, v in geo["columns"].items() if k in table.column_names}
        primary = geo.get("primary_column") if geo.get("primary_column") in geom_cols else \
            next(iter(geom_cols), None)
        if primary is not None:
            info = geom_cols[primary]
            # GeoParquet: an absent "crs" means OGC:CRS84; an explicit null means unknown.
            declared = _crs_from_projjson(info["crs"]) if "crs" in info else "OGC:CRS84"
    else:
        primary = None
    names = _dedupe([c for c in table.column_names if c not in geom_cols])
    cols = {nm: _arrow_column_to_text(table.column(c))
            for nm, c in zip(names, [c for c in table.column_names if c not in geom_cols],
                             strict=True)}
    frame = _frame_from_arrow(cols, np.arange(1, table.num_rows + 1, dtype=np.int64))
    if primary is not None:
        g = table.column(primary)
        if pa.types.is_struct(g.type):  # GeoArrow native "point" encoding
            g = g.combine_chunks()
            valid = g.is_valid().to_numpy(zero_copy_only=False)
            for col, fld in ((GEOM_LON, "x"), (GEOM_LAT, "y")):
                v = pc.fill_null(pc.cast(g.field(fld), pa.float64()), np.nan)
                frame[col] = np.where(valid, v.to_numpy(zero_copy_only=False), np.nan)
        else:
            x, y = _wkb_points(g)
            frame[GEOM_LON] = x
            frame[GEOM_LAT] = y
    return RawTable(frame=frame, path=path, format="geoparquet" if primary is not None else "parquet",
                    encoding=None, declared_crs=declared)


# --------------------------------------------------------------------------- dispatch




def read_raw(path: str | Path, *, encoding: str | None = None, sheet: str | int | None = None,
             delimiter: str | None = None) -> RawTable:
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
    if ext in _REFUSED_EXT:
        raise InputFileError(_REFUSED_EXT[ext], file=name)
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
            raise InputFileError(_REFUSED_EXT[".xls"] + " (this .xlsx is really an .xls file)",
                                 file=name)
        return _read_xlsx(p, sheet)
    if ext in _PARQUET_EXT:
        return _read_parquet(p)
    if magic == "zip":
        raise InputFileError("this is a ZIP/Excel file, not text; if it is a workbook rename it "
                             "to .xlsx", file=name)
    if magic == "ole":
        raise InputFileError(_REFUSED_EXT[".xls"] + " (this file is an old Excel workbook)",
                             file=name)
    if magic == "parquet":
        raise InputFileError("this is a Parquet file; rename it to .parquet", file=name)
    raw = p.read_bytes()
    if ext in _JSON_EXT:
        return _read_geojson(p, raw, encoding)
    if not re.search(rb"[^\s\xef\xbb\xbf]", raw[:1 << 20]) and not raw.strip():
        raise InputFileError("file is empty (no header line)", file=name)
    return _read_csv(p, raw, encoding, delimiter)
