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
import re
from collections.abc import Callable, Iterator
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
        return _cut(data, starts, stops, spans, n_lines, n_lines, max_record_bytes, [])
    return _walk(data, starts, stops, np.flatnonzero(per_line % 2), delimiter, n_header, max_field_lines,
                 max_record_bytes)


def _walk(data: bytes, starts: np.ndarray, stops: np.ndarray, suspects: np.ndarray, delimiter: str,
          n_header: int, max_field_lines: int, max_record_bytes: int) -> RecordScan:
    """Records of a file where some lines (``suspects``) hold an odd number of quotes.

    Every other line is a record of its own; :mod:`csv` reads one record from each suspect line not
    already inside a multi-line record, so the Python work grows with the suspects, not the file.
    """
    n_lines = int(starts.size)
    sizes = (stops - starts).astype(np.int64)
    cum = np.concatenate([[0], np.cumsum(sizes)])

    def line(k: int) -> str:
        return data[int(starts[k]):int(stops[k])].decode("utf-8", errors="replace")

    def lines_from(k: int) -> Iterator[str]:
        for j in range(k, n_lines):
            yield line(j)

    # Process-wide setting of the csv module; only ever raised, to the record bound.
    if csv.field_size_limit() <= max_record_bytes:
        csv.field_size_limit(max_record_bytes + 1)
    spans: list[tuple[int, int, str]] = []   # (first line, end line exclusive, reason)
    multi: list[tuple[int, int]] = []        # kept multi-line records
    continuation = 0
    covered = 0
    for i in suspects.tolist():
        if i < covered:
            continue
        reader = csv.reader(lines_from(i), delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:       # a field above the record bound: a runaway, cut its first line
            spans.append((i, i + 1, BROKEN_QUOTE))
            covered = i + 1
            continue
        end = i + reader.line_num
        if end - i > 1:
            size = int(cum[end] - cum[i])
            if i > 0 and (len(row) != n_header or end - i > max_field_lines or size > max_record_bytes
                          or _swallows_records(line, i, end, delimiter, n_header)
                          or _swallows_leading_fields(row, delimiter)):
                spans.append((i, i + 1, BROKEN_QUOTE))
                covered = i + 1
                continue
            continuation += end - i - 1
            multi.append((i, end))
        covered = end
    # Records larger than the bound that are not runaways: single lines, or whole kept multi-line records.
    cut_first = {f for f, _, _ in spans}
    firsts = np.asarray([m[0] for m in multi], dtype=np.int64)
    for f, e in multi:
        if int(cum[e] - cum[f]) > max_record_bytes:
            spans.append((f, e, RECORD_TOO_LARGE))
    for k in np.flatnonzero(sizes > max_record_bytes).tolist():
        j = int(np.searchsorted(firsts, k, side="right")) - 1
        if k in cut_first or (j >= 0 and multi[j][0] <= k < multi[j][1]):
            continue
        spans.append((k, k + 1, RECORD_TOO_LARGE))
    spans.sort()
    return _cut(data, starts, stops, spans, n_lines, n_lines - continuation, max_record_bytes, multi)


def _swallows_records(line: Callable[[int], str], first: int, end: int, delimiter: str, n_header: int) -> bool:
    """Whether a line wholly inside the record's quoted field is shaped like a record of its own
    (the header's field count, at least 3): a stray quote swallowed it, no free text looks so."""
    if n_header < 3:
        return False
    return any(line(k).count(delimiter) + 1 == n_header for k in range(first + 1, min(end - 1, first + 200)))


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
         n_lines: int, records: int, max_record_bytes: int, multi: list[tuple[int, int]]) -> RecordScan:
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
    # Record number of a span's first line: its line number less the continuation lines of the kept
    # multi-line records that end before it.
    ends = np.asarray([e for _, e in multi], dtype=np.int64)
    extra = np.concatenate([[0], np.cumsum([e - f - 1 for f, e in multi])]).astype(np.int64)
    rec_of_line = [first + 1 - int(extra[np.searchsorted(ends, first, side="right")]) for first, _, _ in spans]
    cut = [CutRecord(r, c.line, c.reason, c.detail, c.text) for r, c in zip(rec_of_line, cut, strict=True)]
    return RecordScan(n_lines, records, fixed, cut)
