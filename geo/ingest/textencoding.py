"""Text encodings of CSV/GeoJSON exports: detection (UTF-8, UTF-16 with BOM, the GB family and
the rest), normalisation of user-given names and bulk transcoding to UTF-8."""

from __future__ import annotations

import codecs
from pathlib import Path

import pyarrow as pa

from geo.errors import InputFileError
from geo.ingest.filecheck import BOM_UTF16, looks_binary

__all__ = ["detect_encoding", "detect_bytes", "normalize_encoding", "to_utf8", "BOM_UTF8", "SAMPLE_BYTES"]

BOM_UTF8 = b"\xef\xbb\xbf"
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "euc_cn", "hz", "hz_gb_2312", "ms936"}
SAMPLE_BYTES = 256 * 1024
# Below this many non-ASCII characters charset statistics are unreliable and the
# domain prior (Chinese government exports) decides between GB18030 and the rest.
_SMALL_SAMPLE_CHARS = 200


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


def detect_bytes(raw: bytes, name: str, *, verify: bool = True, sample_only: bool = False) -> str:
    """Encoding of ``raw`` (see :func:`detect_encoding`).

    ``sample_only``: answer ``"utf-8"`` when the first 256 KiB are UTF-8
    without validating the rest (the CSV parser validates as it goes).
    """
    if raw.startswith(BOM_UTF8):
        return "utf-8-sig"
    if raw.startswith(BOM_UTF16):
        return "utf-16"
    sample = raw[:SAMPLE_BYTES]
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
    return detect_bytes(p.read_bytes(), str(p))


def normalize_encoding(encoding: str, name: str) -> str:
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


def to_utf8(raw: bytes, encoding: str, name: str, *, validated: bool = False) -> bytes:
    """Transcode ``raw`` to UTF-8 without BOM (bulk, strict)."""
    if encoding in ("utf-8", "utf-8-sig"):
        data = raw[3:] if raw.startswith(BOM_UTF8) else raw
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

