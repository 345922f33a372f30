"""What a file is before it is parsed: text or binary, its signature, and whether an XLSX package is safe to open.

Both the readers (a file read from a path by the CLI) and the upload checks of
:mod:`geo.access.uploads` (bytes from a browser) call these, so a workbook is
bounded the same way whichever door it comes through.  Nothing here unpickles,
evaluates or extracts anything: it only looks at bytes.

Zip bombs: the sizes a ZIP declares can lie (a member may claim 1 KB and
inflate to gigabytes, and Python's ``zipfile`` silently stops at the declared
size while other readers do not), so after the declared sizes pass, every
deflated member is inflated from its raw bytes in bounded chunks and counted,
stopping as soon as a limit is crossed.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from geo.errors import InputFileError

__all__ = ["UploadError", "check_xlsx_package", "check_json_depth", "json_depth", "MAX_JSON_DEPTH",
           "looks_binary", "sniff_magic", "MB"]

BOM_UTF16 = (b"\xff\xfe", b"\xfe\xff")
"""Byte-order marks of UTF-16 text (text, although it is full of NUL bytes)."""

MB = 1024 * 1024

_DEFAULT_MAX_UNCOMPRESSED_MB = 400.0

_DEFAULT_MAX_RATIO = 200.0

_RATIO_FLOOR = 8 * MB
"""The ratio limit applies only past this many inflated bytes: a 3 KB workbook
inflating to 1 MB is harmless, whatever its ratio."""

_MAX_MEMBERS = 10_000

_CHUNK = 1 * MB

_ACTIVE_PARTS = (
    (re.compile(r"(^|/)vbaproject\.bin$"), "macros (vbaProject.bin)"),
    (re.compile(r"(^|/)vbaprojectsignature\.bin$"), "macros (vbaProjectSignature.bin)"),
    (re.compile(r"^xl/externallinks/"), "links to other workbooks (xl/externalLinks)"),
    (re.compile(r"^xl/embeddings/"), "embedded OLE objects (xl/embeddings)"),
    (re.compile(r"^xl/activex/"), "ActiveX controls (xl/activeX)"),
    (re.compile(r"^xl/connections\.xml$"), "external data connections (xl/connections.xml)"),
    (re.compile(r"(^|/)[^/]*\.(exe|dll|js|vbs|ps1|bat|cmd|scr)$"), "an embedded program"),
)

_MACRO_CONTENT_TYPE = b"macroEnabled"


class UploadError(InputFileError):
    """An uploaded file or a user-given path was refused; the message says why and what to do.

    A subclass of :class:`~geo.errors.InputFileError` (so of ``ValueError`` and
    :class:`~geo.errors.GridwatchError`): the CLI prints it as ``error: ...``.
    """


def _inflated_size(fh: BinaryIO, info: zipfile.ZipInfo, budget: int, file_size: int) -> int:
    """Bytes a member really inflates to, counting at most ``budget + 1``.

    Reads the raw deflate stream after the member's local header, so a lying
    ``file_size`` in the headers does not cap (or fool) the count.
    """
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of {info.filename}")
    n_name, n_extra = struct.unpack("<HH", head[26:30])
    fh.seek(info.header_offset + 30 + n_name + n_extra)
    left = min(info.compress_size, file_size)  # a lying compress_size cannot read past the file
    inflater = zlib.decompressobj(-15)
    total = 0
    while left > 0 and total <= budget and not inflater.eof:
        raw = fh.read(min(_CHUNK, left))
        if not raw:
            break
        left -= len(raw)
        data = raw
        while data and total <= budget and not inflater.eof:
            total += len(inflater.decompress(data, _CHUNK))
            data = inflater.unconsumed_tail
    return total


def check_xlsx_package(source: str | os.PathLike[str] | bytes | BinaryIO, *,
                       max_uncompressed_mb: float = _DEFAULT_MAX_UNCOMPRESSED_MB,
                       max_ratio: float = _DEFAULT_MAX_RATIO, name: str | None = None,
                       refuse_active_content: bool = True) -> None:
    """Refuse an XLSX package that is not a workbook, a zip bomb, or carries active content.

    Parameters
    ----------
    source : path, bytes or binary file
        The workbook.
    max_uncompressed_mb : float
        Largest total inflated size of all parts.
    max_ratio : float
        Largest inflated/compressed size ratio (applies past 8 MB inflated).
    name : str, optional
        File name for messages.
    refuse_active_content : bool
        Also refuse external links, embedded OLE objects, ActiveX and data
        connections (uploads).  Macros (``vbaProject.bin``, macro-enabled
        content types) are refused always.

    Raises
    ------
    UploadError
        With a message naming the problem and how to fix it.
    """
    label = name or (os.fspath(source) if isinstance(source, (str, os.PathLike)) else "upload")
    max_bytes = int(max_uncompressed_mb * MB)
    fix = ("open it in Excel and save it again as .xlsx, or export the data as CSV UTF-8")
    if isinstance(source, (bytes, bytearray, memoryview)):
        fh: BinaryIO = io.BytesIO(bytes(source))
        own = True
    elif isinstance(source, (str, os.PathLike)):
        fh = open(source, "rb")  # noqa: SIM115 - closed in finally
        own = True
    else:
        fh, own = source, False
    try:
        fh.seek(0, os.SEEK_END)
        file_size = fh.tell()
        fh.seek(0)
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
            raise UploadError("this is not a valid .xlsx workbook (not a readable ZIP package); if "
                              "it is a CSV or text export, rename it to .csv; if it is an old "
                              ".xls, save it as .xlsx", file=label) from None
        with zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise UploadError(f"the workbook package has {len(infos)} parts (more than "
                                  f"{_MAX_MEMBERS}); {fix}", file=label)
            names = {i.filename.lower() for i in infos}
            if "xl/workbook.xml" not in names:
                raise UploadError("this ZIP file is not an Excel workbook (no xl/workbook.xml); "
                                  "upload a real .xlsx", file=label)
            for pattern, what in _ACTIVE_PARTS:
                hit = next((n for n in sorted(names) if pattern.search(n)), None)
                if hit is None:
                    continue
                macro = "macros" in what
                if macro or refuse_active_content:
                    raise UploadError(
                        f"the workbook contains {what} (part {hit}) and is refused for safety; "
                        f"{'remove the macros: ' if macro else ''}{fix}", file=label)
            bad_method = [i.filename for i in infos
                          if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)]
            if bad_method:
                raise UploadError(f"part {bad_method[0]} uses an unusual ZIP compression that Excel "
                                  f"does not write; {fix}", file=label)
            compressed = max(file_size, 1)
            ratio_budget = max(_RATIO_FLOOR, int(max_ratio * compressed))

            def too_big(total: int, how: str) -> None:
                if total > max_bytes:
                    raise UploadError(
                        f"the workbook {how} more than {max_uncompressed_mb:g} MB when unpacked "
                        f"(limit access.xlsx_max_uncompressed_mb; a zip bomb?); split the data "
                        f"into smaller files or export it as CSV UTF-8", file=label)
                if total > ratio_budget:
                    raise UploadError(
                        f"the workbook {how} more than {max_ratio:g} times its size of "
                        f"{file_size / MB:.2f} MB when unpacked (limit access.xlsx_max_ratio; "
                        f"a zip bomb?); {fix}", file=label)

            declared = sum(i.file_size for i in infos)
            too_big(declared, "declares")
            budget = min(max_bytes, ratio_budget)
            total = 0
            for info in infos:
                got = _inflated_size(fh, info, budget - total, file_size)
                if got > info.file_size:
                    too_big(total + got, "inflates to")
                    raise UploadError(
                        f"part {info.filename} inflates to more than the {info.file_size} bytes "
                        f"its ZIP header declares (a forged package); {fix}", file=label)
                total += got
                too_big(total, "inflates to")
            for info in infos:
                low = info.filename.lower()
                if not low.endswith((".xml", ".rels", ".vml")):
                    continue
                with zf.open(info) as part:
                    prolog = part.read(_PROLOG_BYTES).replace(b"\x00", b"").upper()
                if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                    raise UploadError(
                        f"part {info.filename} declares a DTD or XML entities (<!DOCTYPE>/<!ENTITY>), "
                        "which Excel never writes: an XML entity bomb or an external-entity (XXE) attack; "
                        f"the workbook is refused; {fix}", file=label)
            # content types name a macro-enabled workbook even when the VBA part is renamed
            ct = next((i for i in infos if i.filename == "[Content_Types].xml"), None)
            if ct is not None and _MACRO_CONTENT_TYPE in zf.read(ct):
                raise UploadError("the workbook is macro-enabled ([Content_Types].xml declares "
                                  f"macroEnabled content) and is refused for safety; {fix}",
                                  file=label)
    except zipfile.BadZipFile as exc:
        raise UploadError(f"the workbook package is damaged ({exc}); {fix}", file=label) from None
    finally:
        if own:
            fh.close()


_PROLOG_BYTES = 64 * 1024
"""Bytes of each XML part searched for a DTD (it can only sit in the prolog, before the root element)."""
MAX_JSON_DEPTH = 64
"""Deepest JSON nesting accepted; GeoJSON needs at most 7 levels (a MultiPolygon in a FeatureCollection)."""


def json_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting of JSON ``data``, brackets inside strings ignored (vectorised).

    A quote preceded by an odd run of backslashes is escaped; a string is everything between an
    unescaped quote and the next one.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size == 0:
        return 0
    quotes = np.flatnonzero(arr == 34)
    if quotes.size:
        # Length of the backslash run before each quote: odd means escaped.
        bs = arr == 92
        run_start = np.maximum.accumulate(np.where(~bs, np.arange(arr.size), -1))
        before = quotes - 1
        runs = np.where(before >= 0, before - run_start[np.maximum(before, 0)], 0)
        quotes = quotes[runs % 2 == 0]
    inside = np.zeros(arr.size + 1, dtype=np.int8)
    np.add.at(inside, quotes, 1)
    in_string = (np.cumsum(inside[:-1]) % 2).astype(bool)
    step = np.zeros(arr.size, dtype=np.int32)
    step[(arr == 91) | (arr == 123)] = 1
    step[(arr == 93) | (arr == 125)] = -1
    step[in_string] = 0
    return int(np.cumsum(step).max(initial=0))


def check_json_depth(data: bytes, *, name: str = "upload", max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``max_depth`` (it would exhaust the parser's recursion).

    Raises
    ------
    UploadError
    """
    depth = json_depth(data)
    if depth > max_depth:
        raise UploadError(f"the JSON is nested {depth} levels deep (GeoJSON needs at most 7; the limit is "
                          f"{max_depth}): not a GeoJSON export, or a file built to crash the reader; export "
                          "the layer again as a GeoJSON FeatureCollection", file=name)


def looks_binary(sample: bytes) -> bool:
    """NUL or many control bytes: not text (UTF-16 with a byte-order mark is text)."""
    if sample.startswith(BOM_UTF16):
        return False
    if b"\x00" in sample:
        return True
    ctrl = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 27))
    return ctrl > max(8, len(sample) // 100)


def sniff_magic(head: bytes) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"PAR1"):
        return "parquet"
    return None

