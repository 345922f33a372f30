"""Checks on files users upload and paths users give (issue 12 hardening).

Everything here only *looks* at bytes: nothing is unpickled, evaluated,
imported or extracted to disk.

- :func:`safe_filename` reduces a browser-supplied name to a plain base name
  (no folders, ``..``, drive letters, control characters), keeping Chinese.
- :func:`check_upload` refuses uploads that are too large, of a type not in
  ``access.upload_types``, macro-enabled or with embedded objects or external
  links, zip bombs, and content that does not match its suffix (a ZIP, a
  pickle or a program named ``.csv``).
- :func:`check_xlsx_package` is the zip-bomb and active-content check of an
  XLSX package; the XLSX reader calls it too, so a file read directly from a
  path (CLI ingest) is bounded the same way.
- :func:`contained_path` resolves a user path and refuses it unless it stays
  inside a root folder (the workspace).

Zip bombs: the sizes a ZIP declares can lie (a member may claim 1 KB and
inflate to gigabytes, and Python's ``zipfile`` silently stops at the declared
size while other readers do not), so after the declared sizes pass, every
deflated member is inflated from its raw bytes in bounded chunks and counted,
stopping as soon as a limit is crossed.
"""

from __future__ import annotations

import io
import os
import pickletools
import re
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from geo.errors import InputFileError
from geo.io.readers import _looks_binary, _sniff_magic

__all__ = [
    "UploadError",
    "safe_filename",
    "check_upload",
    "check_xlsx_package",
    "contained_path",
    "sniff_content",
]

_MB = 1024 * 1024
_DEFAULT_MAX_UNCOMPRESSED_MB = 400.0
_DEFAULT_MAX_RATIO = 200.0
_RATIO_FLOOR = 8 * _MB
"""The ratio limit applies only past this many inflated bytes: a 3 KB workbook
inflating to 1 MB is harmless, whatever its ratio."""
_MAX_MEMBERS = 10_000
_CHUNK = 1 * _MB
_MAX_NAME_BYTES = 200

_REFUSED_SUFFIX = {
    ".xlsm": "macro-enabled workbooks (.xlsm) are refused for safety; open it in Excel and save it "
             "as .xlsx (Excel Workbook) or CSV UTF-8, then upload that file",
    ".xltm": "macro-enabled templates (.xltm) are refused for safety; save as .xlsx or CSV UTF-8",
    ".xlam": "Excel add-ins (.xlam) are refused for safety; upload data as .xlsx or CSV UTF-8",
    ".xlsb": "binary workbooks (.xlsb) are not supported; save as .xlsx or CSV UTF-8",
    ".xls": "legacy Excel 97-2003 workbooks (.xls) are not supported (they can carry macros); "
            "save as .xlsx or CSV UTF-8",
    ".pkl": "pickle files are refused: loading one can run arbitrary code; export the data as "
            "CSV UTF-8 or Parquet",
    ".pickle": "pickle files are refused: loading one can run arbitrary code; export the data as "
               "CSV UTF-8 or Parquet",
}

# Parts of an OOXML package that carry code, embedded programs or links out of the file.
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

_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')


class UploadError(InputFileError):
    """An uploaded file or a user-given path was refused; the message says why and what to do.

    A subclass of :class:`~geo.errors.InputFileError` (so of ``ValueError`` and
    :class:`~geo.errors.GridwatchError`): the CLI prints it as ``error: ...``.
    """


# ----------------------------------------------------------------------------------
# names and paths
# ----------------------------------------------------------------------------------
def safe_filename(name: str) -> str:
    """The base name of a user-supplied file name, safe to create inside a folder.

    Directories (``/`` and ``\\``), drive letters (``C:``), ``.``/``..``,
    control characters and NUL are removed, leading dots and spaces stripped
    (no hidden files), Windows-reserved characters and device names
    neutralised; Chinese and other letters are kept (NFC-normalised).

    Raises
    ------
    UploadError
        If nothing usable is left (``""``, ``".."``, ``"/"``).

    Examples
    --------
    >>> safe_filename("../../etc/投诉 2024.csv")
    '投诉 2024.csv'
    >>> safe_filename("C:\\\\Users\\\\x\\\\a.xlsx")
    'a.xlsx'
    """
    if not isinstance(name, str):
        raise TypeError(f"file name must be a str, got {type(name).__name__}")
    text = unicodedata.normalize("NFC", name)
    # control characters (NUL, newlines, escapes, bidi overrides) never belong in a name
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    base = text.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"^[A-Za-z]:", "", base)  # 'C:x.csv' (drive-relative on Windows)
    base = _UNSAFE_CHARS.sub("_", base).strip().lstrip(".").strip().rstrip(". ")
    if base and _WINDOWS_RESERVED.match(base):
        base = "_" + base
    if not base:
        raise UploadError(f"file name {name!r} has no usable name once folders and special "
                          "characters are removed; rename the file (e.g. 投诉_2024-03.csv) and "
                          "upload it again")
    if len(base.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        ext = f".{ext}" if dot and len(ext) <= 10 else ""
        stem = stem if ext else base
        while len((stem + ext).encode("utf-8")) > _MAX_NAME_BYTES:
            stem = stem[:-1]
        base = stem + ext
    return base


def contained_path(root: str | os.PathLike[str], user_path: str | os.PathLike[str]) -> Path:
    """Resolve ``user_path`` (relative to ``root`` unless absolute) and require it inside ``root``.

    Symbolic links are followed before the check, so a link inside the
    workspace pointing elsewhere is refused too.

    Raises
    ------
    UploadError
        If the path contains NUL or leads outside ``root``.
    """
    text = os.fspath(user_path)
    if "\x00" in text:
        raise UploadError(f"path {text!r} contains a NUL character; give a plain path")
    base = Path(root).expanduser().resolve()
    p = Path(text).expanduser()
    target = (p if p.is_absolute() else base / p).resolve()
    if not target.is_relative_to(base):
        raise UploadError(f"path {text!r} leads outside the workspace folder {base}; "
                          "give a path inside it (e.g. raw/file.csv)")
    return target


# ----------------------------------------------------------------------------------
# XLSX packages
# ----------------------------------------------------------------------------------
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
    max_bytes = int(max_uncompressed_mb * _MB)
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
                        f"{file_size / _MB:.2f} MB when unpacked (limit access.xlsx_max_ratio; "
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


# ----------------------------------------------------------------------------------
# content sniffing
# ----------------------------------------------------------------------------------
_PICKLE_CODE_OPS = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX",
                    "BUILD"}


def _is_pickle(data: bytes) -> bool:
    """True if ``data`` is a pickle stream (parsed with ``pickletools.genops``, never loaded).

    Protocol 2+ pickles start with ``0x80 <protocol>``; protocol 0/1 pickles are
    ASCII text, recognised when the whole file parses as opcodes up to STOP and
    imports or calls something (a CSV never does).
    """
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return True
    if len(data) > _MB:
        return False
    try:
        names = set()
        end = -1
        for op, _arg, pos in pickletools.genops(data):
            names.add(op.name)
            if op.name == "STOP":
                end = pos
                break
    except Exception:  # noqa: BLE001 - any parse error means "not a pickle"
        return False
    return end >= 0 and not data[end + 1:].strip() and bool(names & _PICKLE_CODE_OPS)


_SNIFFED = {"zip": "a ZIP package (a workbook or archive)", "ole": "an old Excel/Office file (.xls/.doc)",
            "parquet": "a Parquet file"}


def _magic(data: bytes) -> str | None:
    """What the first bytes say the content is."""
    head = data[:8]
    # the reader's own signatures, plus the empty ZIP (end-of-directory record first)
    kind = _sniff_magic(head) or ("zip" if head.startswith(b"PK\x05\x06") else None)
    if kind is not None:
        return _SNIFFED[kind]
    if head.startswith(b"\x7fELF"):
        return "a Linux program (ELF)"
    if head.startswith(b"MZ") and b"\x00" in data[:512]:
        return "a Windows program (.exe/.dll)"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"Rar!")):
        return "a compressed archive"
    if _is_pickle(data):
        return "a Python pickle (loading it could run code)"
    return None


def sniff_content(data: bytes, suffix: str, *, name: str = "upload") -> None:
    """Refuse content that does not match its file suffix.

    ``.xlsx`` must be a ZIP package, ``.parquet`` must start and end with
    ``PAR1``, ``.json``/``.geojson`` must start with ``{`` or ``[``, and text
    (``.csv``/``.txt``/``.tsv``) must not be binary, an archive, a program or a
    pickle.

    Raises
    ------
    UploadError
    """
    suffix = suffix.lower()
    what = _magic(data)
    if suffix == ".xlsx":
        if not data.startswith(b"PK\x03\x04"):
            got = what or "not a ZIP package"
            hint = ("save it as .xlsx" if what and "old Excel" in what
                    else "if it is a CSV export, rename it to .csv")
            raise UploadError(f"this .xlsx file is really {got}; {hint}", file=name)
        return
    if suffix in (".parquet", ".geoparquet"):
        if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
            raise UploadError(f"this {suffix} file is not a Parquet file ({what or 'no PAR1 magic'}); "
                              "write it again with a Parquet writer or upload CSV UTF-8", file=name)
        return
    if what is not None:
        raise UploadError(f"this {suffix} file is really {what}, not "
                          f"{'JSON' if suffix in ('.json', '.geojson') else 'text'}; upload the data "
                          "as CSV UTF-8, .xlsx, GeoJSON or Parquet with the matching extension",
                          file=name)
    sample = data[:256 * 1024]
    if _looks_binary(sample):
        raise UploadError(f"this {suffix} file is not text (it contains NUL/control bytes); export "
                          "the data again as CSV UTF-8", file=name)
    if suffix in (".json", ".geojson"):
        body = sample.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not body.startswith((b"{", b"[")):
            raise UploadError(f"this {suffix} file does not start with '{{' or '[' and is not JSON; "
                              "if it is a table, rename it to .csv", file=name)


# ----------------------------------------------------------------------------------
# uploads
# ----------------------------------------------------------------------------------
def check_upload(name: str, data: bytes, settings: Any) -> str:
    """Check an uploaded file before it is stored or read; return its safe file name.

    Parameters
    ----------
    name : str
        The name the browser sent (may hold folders, ``..``, NUL, anything).
    data : bytes
        The file's content.
    settings : Settings or AccessSettings
        Workspace settings (``settings.access`` is used) or the access
        settings themselves: ``upload_max_mb``, ``upload_types``,
        ``xlsx_max_uncompressed_mb``, ``xlsx_max_ratio``.

    Returns
    -------
    str
        :func:`safe_filename` of ``name``.

    Raises
    ------
    UploadError
        Too large, empty, a refused or unlisted type (``.xlsm``, ``.xls``,
        ``.pkl`` …), macros/embedded objects/external links in an XLSX, a zip
        bomb, or content that does not match the suffix.  The message names the
        problem and the fix.
    """
    access = getattr(settings, "access", settings)
    safe = safe_filename(name)
    size = len(data)
    limit = float(access.upload_max_mb)
    if size > limit * _MB:
        raise UploadError(f"the file is {size / _MB:.1f} MB, larger than the upload limit of "
                          f"{limit:g} MB (access.upload_max_mb); split it into smaller files "
                          "(e.g. one per month) or ask an administrator to raise the limit", file=safe)
    if size == 0:
        raise UploadError("the file is empty (0 bytes); export the data again", file=safe)
    suffix = PurePosixPath(safe).suffix.lower()
    if suffix in _REFUSED_SUFFIX:
        raise UploadError(_REFUSED_SUFFIX[suffix], file=safe)
    allowed = tuple(t.lower() for t in access.upload_types)
    if suffix not in allowed:
        raise UploadError(f"file type {suffix or '(no extension)'!r} is not accepted; upload one of "
                          f"{', '.join(allowed)}", file=safe)
    sniff_content(data, suffix, name=safe)
    if suffix == ".xlsx":
        check_xlsx_package(data, max_uncompressed_mb=float(access.xlsx_max_uncompressed_mb),
                           max_ratio=float(access.xlsx_max_ratio), name=safe)
    return safe
