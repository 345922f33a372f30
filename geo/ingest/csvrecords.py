"""Physical records of a CSV, counted without the CSV parser, and runaway quotes cut out.

:func:`scan_records` counts a file's lines and records by scanning its bytes, independently of
Arrow's parser, so that the reader's result can be reconciled against the file itself.  A record is
a line unless a quoted field holds line breaks.  When every line holds an even number of ``"`` no
field can cross a line end and the count is a vectorised byte scan; otherwise the records are
walked with Python's :mod:`csv` module (its own state machine: a ``"`` opens a quoted field only at
the start of a field, ``""`` inside one is a literal quote) and each record that crosses line ends
is judged.  It is a *runaway quote* -- a stray ``"`` that swallows the following lines -- when

- its field count differs from the header's (the swallowed delimiters and the text after the
  closing quote rarely line up), or
- the last line of a multi-line field in column ``c`` (``c >= 2``) holds ``c`` or more delimiters: the
  leading fields of a following row, swallowed up to a stray quote in the same column, or
- a line wholly inside its quoted field is shaped like a record (the header's field count, 3 or
  more fields): the quote swallowed whole rows, which a column's free text does not hold, or
- it spans more than ``max_field_lines`` physical lines, or
- it is larger than ``max_record_bytes``.

Only the first physical line of a runaway record is cut out (its content emptied, its line break
kept, so the rest of the file keeps its row numbers) and the scan restarts on the next line, so one
stray quote costs one row, not the rest of the file.  A single record larger than
``max_record_bytes`` is cut out whole, with reason ``record_too_large``.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass, field

import numpy as np

__all__ = ["RecordScan", "CutRecord", "scan_records", "count_lines", "BROKEN_QUOTE", "RECORD_TOO_LARGE"]

BROKEN_QUOTE = "broken_quote"
RECORD_TOO_LARGE = "record_too_large"


@dataclass(frozen=True)
class CutRecord:
    """One record cut out of the data: ``record`` (1-based, header = 1, in the data as scanned),
    ``line`` (1-based physical line in the data), ``reason``, ``detail`` and its raw ``text``."""

    record: int
    line: int
    reason: str
    detail: str
    text: str


@dataclass
class RecordScan:
    """What :func:`scan_records` found.

    Attributes
    ----------
    lines
        Physical lines of the data (a last line without a line break counts).
    records
        Records, header included, after the cuts (a cut record still counts as one).
    cut
        The records cut out, in file order.
    data
        The data with the cut records emptied (same record numbering as the file).
    """

    lines: int
    records: int
    data: bytes
    cut: list[CutRecord] = field(default_factory=list)


def _line_ends(arr: np.ndarray) -> np.ndarray:
    """Offsets of the last byte of every line break (LF, CRLF's LF, lone CR)."""
    lf = np.flatnonzero(arr == 10)
    cr = np.flatnonzero(arr == 13)
    if cr.size:
        nxt = cr + 1
        lone = cr[(nxt >= arr.size) | (arr[np.minimum(nxt, arr.size - 1)] != 10)]
        if lone.size:
            return np.sort(np.concatenate([lf, lone]))
    return lf


def count_lines(data: bytes) -> int:
    """Physical lines of ``data`` (CRLF, LF or a lone CR end a line; a last unterminated line counts)."""
    if not data:
        return 0
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = _line_ends(arr)
    return int(ends.size + (0 if ends.size and ends[-1] == arr.size - 1 else 1))


def scan_records(data: bytes, delimiter: str, n_header: int, *, max_field_lines: int,
                 max_record_bytes: int) -> RecordScan:
    """Count the records of UTF-8 CSV ``data`` (header first) and cut out runaway quotes.

    Parameters
    ----------
    data
        The CSV as the parser will see it (title lines above the header removed).
    delimiter
        The field delimiter.
    n_header
        Fields of the header line.
    max_field_lines
        A record crossing more physical lines than this is a runaway quote.
    max_record_bytes
        A record larger than this is cut out (runaway quote when it crosses lines, else too large).

    Returns
    -------
    RecordScan
    """
    if not data:
        return RecordScan(0, 0, data)
    arr = np.frombuffer(data, dtype=np.uint8)
    ends = _line_ends(arr)
    starts = np.concatenate([[0], ends + 1])
    stops = np.concatenate([ends + 1, [arr.size]])
    if starts[-1] >= arr.size:           # the data ends with a line break: no empty last line
        starts, stops = starts[:-1], stops[:-1]
    n_lines = int(starts.size)
    quotes = np.flatnonzero(arr == 34)
    per_line = np.diff(np.searchsorted(quotes, np.concatenate([starts, [arr.size]])))
    sizes = stops - starts
    if not (per_line % 2).any():
        big = np.flatnonzero(sizes > max_record_bytes)
        if not big.size:
            return RecordScan(n_lines, n_lines, data)
        spans = [(int(i), int(i) + 1, RECORD_TOO_LARGE) for i in big]
        return _cut(data, starts, stops, spans, n_lines, n_lines, max_record_bytes, delimiter)
    return _walk(data, starts, stops, delimiter, n_header, max_field_lines, max_record_bytes)


def _walk(data: bytes, starts: np.ndarray, stops: np.ndarray, delimiter: str, n_header: int,
          max_field_lines: int, max_record_bytes: int) -> RecordScan:
    """Record by record with :mod:`csv` (only files where some line has an odd number of quotes)."""
    n_lines = int(starts.size)
    lines = [data[s:e].decode("utf-8", errors="replace") for s, e in zip(starts, stops, strict=True)]
    sizes = (stops - starts).astype(np.int64)
    cum = np.concatenate([[0], np.cumsum(sizes)])
    spans: list[tuple[int, int, str]] = []   # (first line, end line exclusive, reason)
    records = 0
    i = 0
    # Process-wide setting of the csv module; only ever raised, to the record bound.
    if csv.field_size_limit() <= max_record_bytes:
        csv.field_size_limit(max_record_bytes + 1)
    while i < n_lines:
        reader = csv.reader(itertools.islice(lines, i, None), delimiter=delimiter, quotechar='"',
                            doublequote=True, strict=False)
        first = i
        restart = False
        rows = iter(reader)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except csv.Error:       # a field above the csv module's limit: oversized, cut its first line
                spans.append((first, first + 1, BROKEN_QUOTE))
                records += 1
                i = first + 1
                restart = True
                break
            end = i + reader.line_num
            if end - first > 1 or cum[end] - cum[first] > max_record_bytes:
                size = int(cum[end] - cum[first])
                if end - first > 1 and (records > 0 and len(row) != n_header or end - first > max_field_lines
                                        or size > max_record_bytes
                                        or records > 0 and _swallows_records(lines, first, end, delimiter,
                                                                             n_header)
                                        or records > 0 and _swallows_leading_fields(row, delimiter)):
                    spans.append((first, first + 1, BROKEN_QUOTE))
                    records += 1
                    i = first + 1
                    restart = True
                    break
                if size > max_record_bytes:
                    spans.append((first, end, RECORD_TOO_LARGE))
            records += 1
            first = end
        if not restart:
            break
    return _cut(data, starts, stops, spans, n_lines, records, max_record_bytes, delimiter)


def _swallows_records(lines: list[str], first: int, end: int, delimiter: str, n_header: int) -> bool:
    """Whether a line wholly inside the record's quoted field is shaped like a record of its own
    (the header's field count, at least 3): a stray quote swallowed it, no free text looks so."""
    if n_header < 3:
        return False
    return any(lines[k].count(delimiter) + 1 == n_header for k in range(first + 1, end - 1))


_BREAK = re.compile(r"\r\n|\n|\r")


def _swallows_leading_fields(row: list[str], delimiter: str) -> bool:
    """Whether a multi-line field in column ``c`` (``c >= 2``) ends with ``c`` or more delimiters on its last
    line: the leading fields of the next row, swallowed up to a stray quote in the same column."""
    for c, value in enumerate(row):
        if c >= 2 and ("\n" in value or "\r" in value) and \
                _BREAK.split(value)[-1].count(delimiter) >= c:
            return True
    return False


def _cut(data: bytes, starts: np.ndarray, stops: np.ndarray, spans: list[tuple[int, int, str]],
         n_lines: int, records: int, max_record_bytes: int, delimiter: str) -> RecordScan:
    """Empty the cut spans (keeping one line break each) and number them as records."""
    if not spans:
        return RecordScan(n_lines, records, data)
    out = bytearray()
    cut: list[CutRecord] = []
    pos = 0
    for first, end, reason in spans:
        s, e = int(starts[first]), int(stops[end - 1])
        body = data[s:e]
        brk = len(body) - len(body.rstrip(b"\r\n"))
        text = body[: len(body) - brk].decode("utf-8", errors="replace")
        if reason == BROKEN_QUOTE:
            detail = ("a \" opens a quoted field that runs past the end of the line; this line was set "
                      "aside and the lines after it read normally (close or remove the stray \")")
        else:
            detail = (f"the record is {len(body) / 1e6:.1f} MB, above ingest.max_record_mb "
                      f"({max_record_bytes / 1e6:.1f} MB); raise the setting if the field is real")
            text = text[:2000]
        cut.append(CutRecord(record=0, line=first + 1, reason=reason, detail=detail, text=text))
        out += data[pos:s]
        out += body[len(body) - brk:] if brk else b""
        pos = e
    out += data[pos:]
    fixed = bytes(out)
    # Number the cut records on the fixed data: its records are now independent of the cuts.
    rec_of_line = _record_numbers(fixed, spans, delimiter)
    cut = [CutRecord(r, c.line, c.reason, c.detail, c.text) for r, c in zip(rec_of_line, cut, strict=True)]
    return RecordScan(n_lines, records, fixed, cut)


def _record_numbers(fixed: bytes, spans: list[tuple[int, int, str]], delimiter: str) -> list[int]:
    """1-based record number of each cut span in the fixed data."""
    # The cut spans are empty lines now; walk records of the fixed data with csv once.
    text = fixed.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    # Physical line (1-based, in the fixed data) of each cut span.
    removed = 0
    wanted: dict[int, int] = {}
    for k, (first, end, _) in enumerate(spans):
        wanted[first + 1 - removed] = k
        removed += end - first - 1
    out = [0] * len(spans)
    rec = 0
    prev = 0
    for _row in reader:
        rec += 1
        if prev + 1 in wanted:
            out[wanted[prev + 1]] = rec
        prev = reader.line_num
    return out
