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

import os
import pickletools
import re
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

from geo.ingest.filecheck import (
    MB,
    UploadError,
    check_json_depth,
    check_xlsx_package,
    looks_binary,
    sniff_magic,
)

__all__ = [
    "UploadError",
    "safe_filename",
    "check_upload",
    "check_xlsx_package",
    "contained_path",
    "sniff_content",
]

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

_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')




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
    if len(data) > MB:
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
    kind = sniff_magic(head) or ("zip" if head.startswith(b"PK\x05\x06") else None)
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
    if looks_binary(sample):
        raise UploadError(f"this {suffix} file is not text (it contains NUL/control bytes); export "
                          "the data again as CSV UTF-8", file=name)
    if suffix in (".json", ".geojson"):
        body = sample.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not body.startswith((b"{", b"[")):
            raise UploadError(f"this {suffix} file does not start with '{{' or '[' and is not JSON; "
                              "if it is a table, rename it to .csv", file=name)
        check_json_depth(data, name=name)


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
    if size > limit * MB:
        raise UploadError(f"the file is {size / MB:.1f} MB, larger than the upload limit of "
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
