"""The layout of a CSV before parsing: delimiter and title-line sniffing, line breaks."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np

from geo.errors import InputFileError
from geo.ingest.textencoding import SAMPLE_BYTES

__all__ = ["sniff_delimiter", "sniff_best", "sniff_with", "Sniff", "normalize_delimiter", "DELIMITERS",
           "DELIMITER_NAMES", "LINE_BREAK", "LEADING_BLANK", "next_line"]

DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_DELIMITER_ALIASES = {"comma": ",", "tab": "\t", "\\t": "\t", "semicolon": ";", "pipe": "|",
                      "，": ",", "；": ";", "｜": "|"}


def normalize_delimiter(delimiter: str, name: str) -> str:
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
class Sniff:
    delimiter: str
    n_fields: int
    """Fields of the header (after any preamble)."""
    preamble_records: int
    """Title lines above the header (at most half the header's fields, at most 5)."""
    preamble_lines: int
    pad: int = 0
    """Fields to add to (>0) or drop from (<0) the header so it matches the data rows:
    exporters that end every data row — or only the header — with a delimiter."""


def sniff_with(sample: str, delimiter: str) -> Sniff:
    counts = _field_counts(sample, delimiter)
    if not counts:
        return Sniff(delimiter, 1, 0, 0)
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
    return Sniff(delimiter, header, k, counts[k - 1][1] if k else 0, pad)


def _sniff_score(sample: str, d: str) -> tuple[tuple[float, ...], Sniff]:
    sn = sniff_with(sample, d)
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
    sn = sniff_best(sample, prefer)
    return sn.delimiter, sn.n_fields


def sniff_best(sample: str, prefer: str | None) -> Sniff:
    # A sample cut mid-file may end inside a record: drop the last line.
    if len(sample) >= SAMPLE_BYTES // 4 and "\n" in sample.rstrip("\n"):
        sample = sample[: sample.rstrip("\n").rfind("\n") + 1]
    best: tuple[tuple[float, ...], Sniff] | None = None
    for i, d in enumerate(DELIMITERS):
        score, sn = _sniff_score(sample, d)
        score = score + (float(d == prefer), -float(i))
        if best is None or score > best[0]:
            best = (score, sn)
    if best is None or best[1].n_fields <= 1:
        return Sniff(prefer or ",", 1, 0, 0)
    return best[1]


LINE_BREAK = re.compile(rb"\r\n|\n|\r")


def next_line(data: bytes, pos: int) -> int:
    """Offset just after the line break at or after ``pos`` (CRLF, LF or CR)."""
    m = LINE_BREAK.search(data, pos)
    return m.end() if m else len(data)


LEADING_BLANK = re.compile(rb"\A(?:[ \t]*\r?\n|[ \t]*\r(?!\n))+")
