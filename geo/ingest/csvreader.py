"""The CSV reader: Arrow's C++ parser with row numbers of every malformed line.

Parsed single-threaded so that row numbers of malformed lines are known (on two cores this is also
the fastest); Arrow validates UTF-8 as it goes, GBK is transcoded in bulk first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from geo.errors import InputFileError
from geo.ingest.csvrecords import count_lines, scan_records
from geo.ingest.csvscan import (
    DELIMITER_NAMES,
    LEADING_BLANK,
    LINE_BREAK,
    next_line,
    normalize_delimiter,
    sniff_best,
    sniff_with,
)
from geo.ingest.rawtable import ROW_COLUMN, RawTable, bad_rows_frame, dedupe_names, frame_from_arrow
from geo.ingest.textencoding import SAMPLE_BYTES, detect_bytes, normalize_encoding, to_utf8
from geo.settings import IngestSettings

__all__ = ["read_csv", "parse_csv"]

_LIMITS = IngestSettings()


def read_csv(path: Path, raw: bytes, encoding: str | None, delimiter: str | None, *,
             max_field_lines: int = _LIMITS.max_field_lines,
             max_record_mb: float = _LIMITS.max_record_mb) -> RawTable:
    """Decode (detecting the encoding unless given) and parse a CSV file's bytes; see :func:`parse_csv`."""
    name = str(path)
    lim = {"max_field_lines": max_field_lines, "max_record_mb": max_record_mb}
    if encoding:
        enc = normalize_encoding(encoding, name)
        data = to_utf8(raw, enc, name)
        return parse_csv(path, data, enc, delimiter, **lim)
    enc = detect_bytes(raw, name, verify=False, sample_only=True)
    data = to_utf8(raw, enc, name, validated=True)
    try:
        return parse_csv(path, data, enc, delimiter, **lim)
    except _NotUTF8:
        # The first 256 KiB were UTF-8 but a later line is not: detect on the whole file.
        enc = detect_bytes(raw, name, verify=False)
        return parse_csv(path, to_utf8(raw, enc, name), enc, delimiter, **lim)


class _NotUTF8(Exception):
    pass


def parse_csv(path: Path, data: bytes, enc: str, delimiter: str | None, *,
              max_field_lines: int = _LIMITS.max_field_lines,
              max_record_mb: float = _LIMITS.max_record_mb) -> RawTable:
    """Parse UTF-8 ``data`` (see :func:`geo.ingest.readers.read_raw`).

    The records are first counted and runaway quotes cut out by
    :func:`geo.ingest.csvrecords.scan_records` (``max_field_lines``, ``max_record_mb``); the cut
    records come back in ``bad_rows`` (reason ``broken_quote`` or ``record_too_large``, the whole
    raw line kept) and ``file_records`` is that independent count.
    """
    name = str(path)
    file_lines = count_lines(data)
    m = LEADING_BLANK.match(data)
    skipped = 0
    if m:
        skipped = len(LINE_BREAK.findall(m.group(0)))
        data = data[m.end():]
    if not data[:1 << 20].strip() and not data.strip():
        raise InputFileError("file is empty (no header line); export the data again", file=name)

    sample = data[:SAMPLE_BYTES].decode("utf-8", errors="ignore")
    prefer = "\t" if path.suffix.lower() in {".tsv", ".tab"} else None
    best = sniff_best(sample, prefer)
    if delimiter:
        delim = normalize_delimiter(delimiter, name)
        sn = sniff_with(sample, delim)
        if sn.n_fields == 1 and best.n_fields > 1 and best.delimiter != delim:
            raise InputFileError(
                f"with delimiter {DELIMITER_NAMES.get(delim, repr(delim))} the header is a single "
                f"column, but the file looks {DELIMITER_NAMES[best.delimiter]}-separated "
                f"({best.n_fields} columns); pass --delimiter {DELIMITER_NAMES[best.delimiter]} or "
                "leave the delimiter out to detect it", file=name)
    else:
        sn = best
        delim = best.delimiter
    notes: list[str] = []
    if sn.preamble_lines:
        # Title lines above the header ("12345工单导出 2024-03"): skip, keep numbering.
        cut = 0
        for _ in range(sn.preamble_lines):
            cut = next_line(data, cut)
        notes.append(f"skipped {sn.preamble_lines} title line(s) above the header")
        skipped += len(LINE_BREAK.findall(data[:cut]))
        data = data[cut:]
        m = LEADING_BLANK.match(data)
        if m:
            skipped += len(LINE_BREAK.findall(m.group(0)))
            data = data[m.end():]
    n_header = sn.n_fields
    m_end = LINE_BREAK.search(data)
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

    scan = scan_records(data, delim, n_header, max_field_lines=max_field_lines,
                        max_record_bytes=int(max_record_mb * 1e6))
    data = scan.data
    cut_numbers = np.asarray([c.record for c in scan.cut], dtype=np.int64)
    if scan.cut:
        notes.append(f"{len(scan.cut)} record(s) set aside whole (runaway quote or oversized record); "
                     "the rest of the file was read")
    invalid: list[tuple[int, str, str, str]] = []
    blank_numbers: list[int] = []

    def on_invalid(row: Any) -> str:
        text = row.text or ""
        number = row.number if row.number is not None else -1
        if number in cut_set:
            cut_seen.append(number)
        elif not text.strip(delim + " \t\r\n"):
            blank_numbers.append(number)
        else:
            invalid.append((number, "ragged_row",
                            f"{row.actual_columns} fields, the header has {row.expected_columns}",
                            text[:2000]))
        return "skip"

    cut_set = set(cut_numbers.tolist())
    cut_seen: list[int] = []
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=False, autogenerate_column_names=True,
                                           # a block always holds a whole record (bounded above)
                                           block_size=max(8 << 20, int(2.2 * max_record_mb * 1e6))),
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
    skipped_numbers = np.sort(np.asarray([n for n, *_ in invalid] + blank_numbers + cut_seen,
                                         dtype=np.int64))
    total = table.num_rows + len(skipped_numbers)
    kept = np.setdiff1d(np.arange(1, total + 1, dtype=np.int64), skipped_numbers, assume_unique=True)

    header_vals = [table.column(i)[0].as_py() if table.num_rows else None
                   for i in range(table.num_columns)]
    names = dedupe_names(header_vals)
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
    is_cut = np.isin(body_rows - skipped, cut_numbers)
    blank &= ~is_cut
    all_blank_rows = np.concatenate([body_rows[blank],
                                     np.asarray(blank_numbers, dtype=np.int64) + skipped])
    frame = frame_from_arrow(cols, body_rows, keep=~(blank | is_cut))
    invalid += [(c.record, c.reason, c.detail, c.text) for c in scan.cut]
    invalid.sort()
    last_data = max(int(frame[ROW_COLUMN].max()) if len(frame) else 1,
                    max((n for n, *_ in invalid), default=1) + skipped)
    bad = bad_rows_frame([(n + skipped, r, d, t) for n, r, d, t in invalid])
    interior = int((all_blank_rows < last_data).sum())
    return RawTable(frame=frame, path=path, format="csv", encoding=enc, delimiter=delim,
                    bad_rows=bad, blank_rows=interior, notes=notes,
                    file_records=max(scan.records - 1, 0), file_lines=file_lines,
                    blank_tail=int(all_blank_rows.size) - interior)

