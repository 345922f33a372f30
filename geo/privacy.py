"""Personal-data protection for event records (12345 callers, plates, IDs).

Three tools, all vectorised over pandas string Series:

- **Keyed hashes** (:func:`hash_values`) replace a personal value by an
  HMAC-SHA256 of its *normalised* form, so repeat callers and repeat plates are
  still counted while the raw value is gone.  The salt is a workspace secret
  (:func:`new_salt`); without it a phone number cannot be recovered by hashing
  all 10^10 candidates.
- **Masked display forms** (:func:`mask_phone`, :func:`mask_id_number`,
  :func:`mask_plate`) for screens and exports: ``138****5678``,
  ``110105********1234``, ``京A·***45``.  A value that does not look like its
  kind becomes the generic ``***`` — never the raw value.
- **Free-text scrubbing** (:func:`scrub_text`) masks phone numbers, ID numbers
  and plates inside complaint texts; :func:`find_personal_data` and
  :func:`personal_data_report` scan any output for what is left unmasked.

Masks keep at most the first 3 + last 4 digits of a mobile, the area code + last
4 of a landline, the first 6 (region) + last 4 of an ID number, and province,
letter and last 2 characters of a plate.  Star runs have a fixed width per kind
(``****`` phones, ``********`` IDs, ``***`` plates) so a mask does not reveal
the length of what it hides.

Text patterns use digit boundaries: a number directly preceded or followed by
another digit is not a phone, so 14-digit work-order numbers
(``20240305123456``) and dates (``20240305``) are left alone.  ID numbers in
text must carry a plausible birth date (month 01–12, day 01–31, 18-char IDs
born 18xx–20xx), which every real ID has and order numbers rarely do.
Local 7–8 digit landlines without an area code are masked only right after a
keyword (电话, 手机, 座机, 固话, 联系方式, tel), since bare 8-digit numbers are
usually dates.  Hong Kong/Macau plates are masked by :func:`mask_plate` but not
searched for in free text (``AB1234`` is indistinguishable from a product code).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd

from geo.errors import SettingsError

__all__ = [
    "new_salt",
    "normalize_phone",
    "normalize_plate",
    "normalize_id_number",
    "hash_values",
    "mask_phone",
    "mask_id_number",
    "mask_plate",
    "scrub_text",
    "scrub_frame",
    "mask_frame",
    "remove_control_chars",
    "CONTROL_CHARS",
    "count_personal_data",
    "find_personal_data",
    "personal_data_report",
    "GENERIC_MASK",
    "MIN_SALT_LENGTH",
]

GENERIC_MASK = "***"
"""Mask of a value that does not look like its kind (never the raw value)."""

MIN_SALT_LENGTH = 16
"""Shortest salt :func:`hash_values` accepts; :func:`new_salt` gives 64 hex chars."""

HASH_HEX_CHARS = 32
"""Length of a hash: the first 16 bytes of HMAC-SHA256, as hex."""

HashKind = Literal["auto", "phone", "plate", "id_number"]

# Full-width digits, Latin letters, plus, minus and the ideographic space fold
# to ASCII one character for one character, so text keeps its shape.
_FOLD = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "＋": "+",
        "－": "-",
        "\u3000": " ",
    }
)

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Z"  # plates never use I or O
_PLATE_SPECIAL = "挂学警港澳领试超"

# --- value-level patterns (applied to normalised values, fullmatch) -------------
_MOBILE_FULL = r"1[3-9][0-9]{9}"
_AREA = r"0(?:10|2[0-9]|[3-9][0-9]{2})"  # 010, 02x are 3-digit codes, the rest 4
_LANDLINE_FULL = rf"({_AREA})[0-9]{{7,8}}"
_LOCAL_FULL = r"[2-9][0-9]{6,7}"
_ID18_FULL = r"[0-9]{17}[0-9X]"
_ID15_FULL = r"[0-9]{15}"
_PLATE_FULL = (
    rf"([{_PROVINCES}])([{_PLATE_LETTER}])"
    rf"([{_PLATE_LETTER}0-9]{{5,6}}|[{_PLATE_LETTER}0-9]{{4}}[{_PLATE_SPECIAL}])"
)

# --- ID numbers written in groups ("110105 19491231 0021", "1101 0519 4912 3100 21") ----------
# One optional space or hyphen may follow the character at each group end of the groupings in
# use (18 chars: 6-8-4, 6-4-4-4, 4-4-4-4-2, 3-3-4-4-4; 15 digits: 6-6-3, 6-2-4-3, 4-4-4-3).  The
# birth date is checked as in the unbroken rules; RE2 (the pre-filter) accepts the same syntax.
_S = r"[ \-]?"
_D = "[0-9]"
_MONTH, _DAY = "(?:0[1-9]|1[0-2])", "(?:0[1-9]|[12][0-9]|3[01])"
_ID18_CHARS = ["[1-9]", *[_D] * 5, "(?:1[89]|20)", _D, _D, _MONTH, _DAY, _D, _D, _D, "[0-9Xx]"]
# the century, month and day atoms hold two characters each; positions count characters
_ID18_POS = [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 15, 16, 17, 18]  # character position ending each atom
_ID18_BREAKS = (3, 4, 6, 8, 10, 12, 14, 16)
_ID18_SPACED = "".join(a + (_S if p in _ID18_BREAKS else "") for a, p in zip(_ID18_CHARS, _ID18_POS, strict=True))
_ID15_CHARS = ["[1-9]", *[_D] * 7, _MONTH, _DAY, _D, _D, _D]
_ID15_POS = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 14, 15]
_ID15_BREAKS = (3, 4, 6, 8, 12)
_ID15_SPACED = "".join(a + (_S if p in _ID15_BREAKS else "") for a, p in zip(_ID15_CHARS, _ID15_POS, strict=True))


def _mask_spaced_id(match: re.Match[str]) -> str:
    """First 6 + ``********`` + last 4 characters of an ID written in groups (separators dropped)."""
    chars = re.sub(r"[ \-]", "", match.group(0))
    return chars[:6] + "********" + chars[-4:].upper()


# --- text patterns (pattern, replacement), applied in this order -----------------
_L = f"{_PLATE_LETTER}a-hj-np-z"
_DATE_MD = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
# Digits right after '123.' are a decimal fraction (a coordinate, a distance), never a phone or an ID.
_TEXT_RULES: tuple[tuple[str, str, str | Callable[[re.Match[str]], str]], ...] = (
    (
        "id18",
        rf"(?<![0-9])(?<![0-9]\.)(?=[1-9][0-9]{{5}}(?:18|19|20)[0-9]{{2}}{_DATE_MD}[0-9]{{3}}[0-9Xx](?![0-9]))"
        r"([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])",
        r"\1********\2",
    ),
    (
        "id18_spaced",
        rf"(?<![0-9])(?<![0-9]\.){_ID18_SPACED}(?![0-9Xx])",
        _mask_spaced_id,
    ),
    (
        "id15",
        rf"(?<![0-9])(?<![0-9]\.)(?=[1-9][0-9]{{7}}{_DATE_MD}[0-9]{{3}}(?![0-9Xx]))"
        r"([0-9]{6})[0-9]{5}([0-9]{4})",
        r"\1********\2",
    ),
    (
        "id15_spaced",
        rf"(?<![0-9])(?<![0-9]\.){_ID15_SPACED}(?![0-9Xx])",
        _mask_spaced_id,
    ),
    (
        "mobile",
        r"(?<![0-9])(?<![0-9]\.)(?:(?:\+|00)?86[ \-]?|\(\+?86\)[ \-]?)?"
        r"(1[3-9][0-9])(?:[ \-]?[0-9]{4}[ \-]?|\.[0-9]{4}\.)([0-9]{4})(?![0-9])",
        r"\1****\2",
    ),
    (
        "landline_cc",
        r"(?<![0-9])(?<![0-9]\.)(?:(?:\+|00)86|\(\+?86\))[ \-]?\(?0?(10|2[0-9]|[3-9][0-9]{2})\)?[ \-]?"
        r"([0-9]{3,4})[ \-]?([0-9]{4})(?![0-9])",
        r"0\1-****\3",
    ),
    (
        "landline",
        rf"(?<![0-9])(?<![0-9]\.)\(?({_AREA})\)?(?:[ \-]?[0-9]{{3,4}}[ \-]?|\.[0-9]{{3,4}}\.)([0-9]{{4}})(?![0-9])",
        r"\1-****\2",
    ),
    (
        "local",
        r"((?:电话|手机|座机|固话|联系方式|[Tt][Ee][Ll])(?:号码|号)?[:： ]{0,2}(?:是|为)?[:： ]{0,2})"
        r"([2-9][0-9]{2,3})[ \-]?([0-9]{4})(?![0-9])",
        r"\1****\3",
    ),
    (
        "plate",
        rf"([{_PROVINCES}]) ?([{_L}])[ ·•.\-]?[{_L}0-9]{{3,4}}"
        rf"([{_L}0-9]{{2}}|[{_L}0-9][{_PLATE_SPECIAL}])(?![A-Za-z0-9])",
        r"\1\2·***\3",
    ),
)
# A necessary condition of each rule without lookarounds: pyarrow's RE2 checks it
# fast, so the Python-regex rule only runs on the few texts that can match (14-digit
# order numbers are in almost every text and would otherwise send all of them).
_B0, _B1 = r"(?:^|[^0-9])", r"(?:[^0-9]|$)"  # digit boundaries without lookarounds
_TEXT_CORES: dict[str, str] = {
    "id18": rf"{_B0}[1-9][0-9]{{5}}(?:18|19|20)[0-9]{{2}}{_DATE_MD}[0-9]{{3}}[0-9Xx]{_B1}",
    "id15": rf"{_B0}[1-9][0-9]{{7}}{_DATE_MD}[0-9]{{3}}(?:[^0-9Xx]|$)",
    "id18_spaced": rf"{_B0}{_ID18_SPACED}(?:[^0-9Xx]|$)",
    "id15_spaced": rf"{_B0}{_ID15_SPACED}(?:[^0-9Xx]|$)",
    "mobile": rf"(?:^|[^0-9]|86[ \-]?|86\)[ \-]?)1[3-9][0-9](?:[ \-]?[0-9]{{4}}[ \-]?|\.[0-9]{{4}}\.)[0-9]{{4}}{_B1}",
    "landline_cc": r"(?:\+|00)86|\(\+?86\)",
    "landline": rf"{_B0}{_AREA}\)?(?:[ \-]?[0-9]{{3,4}}[ \-]?|\.[0-9]{{3,4}}\.)[0-9]{{4}}{_B1}",
    "local": r"(?:电话|手机|座机|固话|联系方式|[Tt][Ee][Ll])",
    "plate": rf"[{_PROVINCES}] ?[{_L}][ ·•.\-]?[{_L}0-9]{{3,4}}",
}


def new_salt() -> str:
    """Return a fresh random salt for :func:`hash_values`: 32 random bytes as 64 hex chars.

    Store it with the workspace (never in exports); hashes made with different
    salts cannot be linked.

    Examples
    --------
    >>> len(new_salt())
    64
    """
    return secrets.token_hex(32)


# ----------------------------------------------------------------------------------
# coercion and normalisation
# ----------------------------------------------------------------------------------
def _as_text(values: pd.Series, name: str = "values") -> pd.Series:
    """Return ``values`` as a pandas ``str`` Series (missing stays missing).

    Phone numbers read from CSV/Excel often arrive as integers or floats
    (13812345678.0); those print without a decimal part.
    """
    if not isinstance(values, pd.Series):
        raise TypeError(
            f"{name} must be a pandas Series, got {type(values).__name__}; "
            f"wrap it with pd.Series(...)"
        )
    kind = values.dtype.kind
    if kind == "f":
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(arr)
        if np.all(arr[finite] == np.floor(arr[finite])):
            values = values.astype("Int64")
    elif kind == "b":
        raise TypeError(f"{name} has boolean dtype; expected text (phone numbers, plates, IDs)")
    return values.astype("str")


_FOLDABLE = "[" + "".join(chr(c) for c in _FOLD) + "]"


def _fold(s: pd.Series) -> pd.Series:
    """Full-width digits/letters/+/- to ASCII, one character for one.

    ``str.translate`` runs per value, so only values holding such a character
    (found by RE2) are translated.
    """
    rows = s.str.contains(_FOLDABLE, regex=True).fillna(False).to_numpy()
    if not rows.any():
        return s
    out = s.copy()
    out[rows] = s[rows].str.translate(_FOLD)
    return out


def _plain_digits(s: pd.Series) -> np.ndarray:
    """Values made only of ASCII digits that start with neither ``00`` nor ``86``.

    Such a value is already its own canonical phone form (no country code, no
    separators), which is what most exports hold: :func:`normalize_phone` runs
    its regexes on the others only.
    """
    digits = s.str.fullmatch(r"[0-9]+").fillna(False).to_numpy(dtype=bool)
    if digits.any():
        digits = digits & ~(s.str.startswith("00") | s.str.startswith("86")).fillna(False).to_numpy(dtype=bool)
    return digits


def normalize_phone(values: pd.Series) -> pd.Series:
    """Canonical digits of phone numbers: country code dropped, landlines with area code 0.

    ``+86 138-1234-5678``, ``0086 13812345678`` and ``13812345678`` all give
    ``13812345678``; ``+86 10 6234 5678`` and ``(010)6234-5678`` give
    ``01062345678``.  Missing stays missing; other values keep their digits.
    """
    text = _as_text(values)
    plain = _plain_digits(text)
    if not plain.any():
        return _normalize_phone_rules(text)
    out = text.copy()
    if not plain.all():
        out[~plain] = _normalize_phone_rules(text[~plain])
    return out


def _normalize_phone_rules(values: pd.Series) -> pd.Series:
    s = _fold(_as_text(values)).str.strip()
    s = s.str.replace(r"(?:转|分机|ext\.?|EXT\.?|x)\s*[0-9]{1,5}$", "", regex=True)
    has_cc = s.str.contains(r"^(?:\(?\+|00)\s*86", regex=True).fillna(False)
    digits = s.str.replace(r"[^0-9]", "", regex=True)
    stripped = digits.str.replace(r"^(?:0086|86)", "", regex=True)
    # a bare 86 before a mobile (8613812345678) is a country code too
    bare_cc = digits.str.fullmatch(rf"86{_MOBILE_FULL}").fillna(False)
    out = digits.where(~(has_cc | bare_cc), stripped)
    # +86 drops the trunk 0 of an area code: put it back for landlines
    needs_zero = (has_cc & ~out.str.fullmatch(_MOBILE_FULL).fillna(False)
                  & ~out.str.startswith("0").fillna(False) & out.str.len().gt(0))
    return out.where(~needs_zero, "0" + out)


def _drop_chars(s: pd.Series, pattern: str) -> pd.Series:
    """``s`` without the characters ``pattern`` matches, touching only values that can hold one.

    Values made of ASCII letters/digits and CJK ideographs (most plates and IDs)
    hold none of the separators; an RE2 scan finds the others.
    """
    odd = s.str.contains(r"[^0-9A-Za-z\x{4E00}-\x{9FFF}]", regex=True).fillna(False).to_numpy(dtype=bool)
    if not odd.any():
        return s
    out = s.copy()
    out[odd] = s[odd].str.replace(pattern, "", regex=True)
    return out


def normalize_plate(values: pd.Series) -> pd.Series:
    """Plates upper-cased without spaces, dots, hyphens or middle dots (``京a·12345`` → ``京A12345``)."""
    s = _fold(_as_text(values)).str.upper()
    return _drop_chars(s, r"[\s·•.\-_]")


def normalize_id_number(values: pd.Series) -> pd.Series:
    """ID numbers without spaces or hyphens and with an upper-case check letter X."""
    s = _fold(_as_text(values)).str.upper()
    return _drop_chars(s, r"[\s\-]")


def _normalize_auto(values: pd.Series) -> pd.Series:
    """Normalise a column whose kind is unknown: phone-like values as phones, else plate/ID form."""
    s = normalize_plate(values)  # upper-case, no separators: right for plates and IDs
    phone_like = s.str.fullmatch(r"\(?\+?[0-9()]{5,}").fillna(False)
    if phone_like.any():
        s = s.where(~phone_like, normalize_phone(values))
    return s


_NORMALIZERS = {
    "auto": _normalize_auto,
    "phone": normalize_phone,
    "plate": normalize_plate,
    "id_number": normalize_id_number,
}


# ----------------------------------------------------------------------------------
# keyed hashing
# ----------------------------------------------------------------------------------
def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """The keyed inner and outer SHA-256 states of RFC 2104 HMAC (built once, copied per message)."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))


def _hmac_digests(inner: Any, outer: Any, messages: np.ndarray) -> bytes:
    """The first 16 bytes of each HMAC, concatenated (hex formatting is done in bulk)."""
    size = HASH_HEX_CHARS // 2

    def one(message: str) -> bytes:
        i = inner.copy()
        i.update(message.encode("utf-8"))
        o = outer.copy()
        o.update(i.digest())
        return o.digest()[:size]

    return b"".join(map(one, messages))


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_chars(digests: bytes, n: int) -> np.ndarray:
    """``(n, 32)`` uint8 ASCII hex of ``n`` concatenated 16-byte digests."""
    by = np.frombuffer(digests, dtype=np.uint8).reshape(n, HASH_HEX_CHARS // 2)
    chars = np.empty((n, HASH_HEX_CHARS), dtype=np.uint8)
    chars[:, 0::2] = _HEX_DIGITS[by >> 4]
    chars[:, 1::2] = _HEX_DIGITS[by & 15]
    return chars


def _hex_digests(digests: bytes, n: int) -> np.ndarray:
    return _hex_chars(digests, n).view(f"S{HASH_HEX_CHARS}").ravel().astype(f"<U{HASH_HEX_CHARS}")


def hash_values(values: pd.Series, salt: str, kind: HashKind = "auto") -> pd.Series:
    """Keyed hash (HMAC-SHA256, 32 hex chars) of each normalised value.

    Values are normalised first so one person's number hashes the same however
    it was typed: phones to digits without ``+86``/``0086``, plates upper-case
    without spaces/dots/``·``, ID numbers with upper-case ``X``.  Only unique
    normalised values are hashed, then mapped back.

    Parameters
    ----------
    values : pandas.Series
        Phone numbers, plates or ID numbers (text, or integers for phones).
    salt : str
        Secret key, at least :data:`MIN_SALT_LENGTH` characters; make one with
        :func:`new_salt` and keep it in the workspace.
    kind : {"auto", "phone", "plate", "id_number"}
        Normalisation to apply.  ``"auto"`` treats digit-only values (with
        ``+``, spaces, hyphens, brackets) as phones and the rest as plates/IDs.

    Returns
    -------
    pandas.Series
        ``str`` Series on the same index; missing and empty values stay missing.

    Examples
    --------
    >>> s = pd.Series(["13812345678", "+86 138-1234-5678", None])
    >>> h = hash_values(s, "a-very-secret-salt-0001")
    >>> bool(h[0] == h[1]), bool(pd.isna(h[2]))
    (True, True)
    """
    if not isinstance(salt, str):
        raise TypeError(f"salt must be a str, got {type(salt).__name__}; make one with new_salt()")
    if len(salt) < MIN_SALT_LENGTH:
        raise SettingsError(
            f"salt {'*' * len(salt)!r} has {len(salt)} characters, fewer than {MIN_SALT_LENGTH}: "
            f"a short salt lets anyone hash all phone numbers and reverse the hashes; "
            f"use geo.privacy.new_salt()"
        )
    if kind not in _NORMALIZERS:
        raise ValueError(f"kind {kind!r} is not one of {sorted(_NORMALIZERS)}")
    norm = _NORMALIZERS[kind](values)
    norm = norm.where(norm.str.len().gt(0).fillna(False))
    import pyarrow as pa
    import pyarrow.compute as pc

    # distinct values in one Arrow hash pass; each is hashed once
    enc = pc.dictionary_encode(pa.array(norm.astype("str"), type=pa.large_string(), from_pandas=True))
    uniques = enc.dictionary.to_numpy(zero_copy_only=False)
    inner, outer = _hmac_states(salt.encode("utf-8"))
    n = len(uniques)
    chars = _hex_chars(_hmac_digests(inner, outer, uniques), n)
    offsets = np.arange(0, (n + 1) * HASH_HEX_CHARS, HASH_HEX_CHARS, dtype=np.int64)
    table = pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets),
                                                         pa.py_buffer(chars.reshape(-1))])
    hashed = pc.take(table, enc.indices)  # a missing value (null index) stays missing
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    arr = dtype.construct_array_type()(pa.chunked_array([hashed]), dtype=dtype)
    return pd.Series(arr, index=values.index, name=values.name, copy=False)


# ----------------------------------------------------------------------------------
# masks of values
# ----------------------------------------------------------------------------------
def _finish_mask(masked: pd.Series, original: pd.Series) -> pd.Series:
    """Generic mask where nothing matched; missing/empty originals stay missing."""
    missing = original.isna() | original.str.strip().eq("").fillna(True)
    out = masked.fillna(GENERIC_MASK)
    return out.where(~missing).astype("str")


def mask_phone(values: pd.Series) -> pd.Series:
    """Masked display form of phone numbers.

    Mobiles (11 digits ``1[3-9]…``, with or without ``+86`` and separators)
    become ``138****5678``; landlines with area code become ``010-****5678``
    (``+86 10 …`` too); 7–8 digit local numbers ``****5678``; anything else
    ``***``.  Missing stays missing.

    Examples
    --------
    >>> mask_phone(pd.Series(["+86 138-1234-5678", "010-62345678", "12345"])).tolist()
    ['138****5678', '010-****5678', '***']
    """
    text = _as_text(values)
    canon = normalize_phone(text)
    last4 = canon.str.slice(-4)
    out = pd.Series(pd.NA, index=text.index, dtype="object")
    mobile = canon.str.fullmatch(_MOBILE_FULL).fillna(False)
    out[mobile] = (canon.str.slice(0, 3) + "****" + last4)[mobile]
    area = pd.Series(np.nan, index=canon.index, dtype="str")
    if not mobile.all():  # the extract is costly: only where it can matter
        area[~mobile] = canon[~mobile].str.extract(f"^{_LANDLINE_FULL}$", expand=False)
    landline = area.notna() & ~mobile
    out[landline] = (area + "-****" + last4)[landline]
    local = canon.str.fullmatch(_LOCAL_FULL).fillna(False) & ~mobile & ~landline
    out[local] = ("****" + last4)[local]
    return _finish_mask(out, text)


def mask_id_number(values: pd.Series) -> pd.Series:
    """Masked display form of resident ID numbers: first 6 + ``********`` + last 4.

    Works for 18-char IDs (check character ``X``/``x``) and 15-digit old IDs;
    the star run has the same width for both.  Anything else becomes ``***``.

    Examples
    --------
    >>> mask_id_number(pd.Series(["11010519491231002x", "110105491231002"])).tolist()
    ['110105********002X', '110105********1002']
    """
    text = _as_text(values)
    canon = normalize_id_number(text)
    valid = (canon.str.fullmatch(_ID18_FULL) | canon.str.fullmatch(_ID15_FULL)).fillna(False)
    masked = canon.str.slice(0, 6) + "********" + canon.str.slice(-4)
    return _finish_mask(masked.where(valid), text)


def mask_plate(values: pd.Series) -> pd.Series:
    """Masked display form of vehicle plates: ``京A12345`` → ``京A·***45``.

    Mainland plates (province character, letter, 5 characters; new-energy 6;
    trailing 挂/学/警/港/澳…) keep province, letter and the last 2 characters.
    Other plates of 5–10 letters/digits (Hong Kong ``AB1234``, Macau
    ``MA-12-34``, embassy ``使014578``) keep their first and last 2 characters
    (``A***34``); shorter or stranger values become ``***``.

    Examples
    --------
    >>> mask_plate(pd.Series(["京A12345", "京AD12345", "粤Z·1234港", "AB 1234", "?"])).tolist()
    ['京A·***45', '京A·***45', '粤Z·***4港', 'A***34', '***']
    """
    text = _as_text(values)
    canon = normalize_plate(text)
    # The first two groups of the mainland pattern are single characters and the third
    # is the rest, so a full match is masked by slicing (no costly group extraction).
    mainland = canon.str.fullmatch(_PLATE_FULL).fillna(False)
    masked = (canon.str.slice(0, 2) + "·***" + canon.str.slice(-2)).where(mainland)
    other = (~mainland & canon.str.fullmatch(rf"[A-Z0-9{_PROVINCES}使领]{{5,10}}").fillna(False))
    masked = masked.where(~other, canon.str.slice(0, 1) + GENERIC_MASK + canon.str.slice(-2))
    return _finish_mask(masked, text)


# ----------------------------------------------------------------------------------
# free text
# ----------------------------------------------------------------------------------
_ANY_CORE = "|".join(f"(?:{core})" for core in _TEXT_CORES.values())


def _apply_rules(s: pd.Series, count: bool) -> tuple[pd.Series, np.ndarray]:
    """Run the text rules in order; return the masked text and hits per row.

    A text in which no rule's necessary condition holds is never changed by any
    rule, so one RE2 pass over all texts (the union of the conditions) picks the
    few the rules have to look at.
    """
    hits = np.zeros(len(s), dtype=np.int64)
    cand = s.str.contains(_ANY_CORE, regex=True).fillna(False).to_numpy(dtype=bool)
    if not cand.any():
        return s, hits
    if not cand.all():
        sub, sub_hits = _apply_rules_all(s[cand], count)
        out = s.copy()
        out[cand] = sub
        hits[cand] = sub_hits
        return out, hits
    return _apply_rules_all(s, count)


def _apply_rules_all(s: pd.Series, count: bool) -> tuple[pd.Series, np.ndarray]:
    hits = np.zeros(len(s), dtype=np.int64)
    out = s
    for name, pattern, repl in _TEXT_RULES:
        rows = out.str.contains(_TEXT_CORES[name], regex=True).fillna(False).to_numpy()
        if not rows.any():
            continue
        sub = out[rows]
        if count:
            hits[rows] += sub.str.count(pattern).fillna(0).to_numpy(dtype=np.int64)
        if out is s:
            out = s.copy()
        # masked digits cannot be counted again by a later rule
        out[rows] = sub.str.replace(pattern, repl, regex=True)
    return out, hits


def scrub_text(text: pd.Series) -> pd.Series:
    """Mask phone numbers, ID numbers and plates inside free text.

    Full-width digits and Latin letters are folded to ASCII first (one
    character for one), then, in order: 18-char and 15-digit ID numbers with a
    plausible birth date → ``110105********1234``; mobiles (``+86``/``0086``,
    spaces or hyphens inside) → ``138****5678``; landlines with area code →
    ``010-****5678``; 7–8 digit local numbers after 电话/手机/座机… →
    ``****5678``; mainland plates (``京A12345``, ``京A·12345``, ``京AD12345``)
    → ``京A·***45``.  Numbers glued to other digits (order numbers, dates) are
    not touched.  Missing stays missing.

    Examples
    --------
    >>> scrub_text(pd.Series(["工单20240305123456，来电人电话138-1234-5678，车牌京A·12345"])).iloc[0]
    '工单20240305123456，来电人电话138****5678，车牌京A·***45'
    """
    return _apply_rules(_fold(_as_text(text, "text")), count=False)[0]


CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
"""C0 control characters other than tab, line feed and carriage return: XML (so XLSX)
cannot hold them, and a NUL ends a C string in many readers."""


_FRAME_CANDIDATES = f"{_ANY_CORE}|{_FOLDABLE}|{CONTROL_CHARS}"


def remove_control_chars(text: pd.Series) -> pd.Series:
    r"""``text`` without the characters of :data:`CONTROL_CHARS` (only values holding one are touched).

    Examples
    --------
    >>> remove_control_chars(pd.Series(["a\x01b\x00", "ok\tfine", None])).tolist()
    ['ab', 'ok\tfine', nan]
    """
    s = _as_text(text, "text")
    rows = s.str.contains(CONTROL_CHARS, regex=True).fillna(False).to_numpy(dtype=bool)
    if not rows.any():
        return s
    out = s.copy()
    out[rows] = s[rows].str.replace(CONTROL_CHARS, "", regex=True)
    return out


def scrub_frame(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Copy of ``frame`` with :func:`scrub_text` and :func:`remove_control_chars` applied to text columns.

    The one privacy pass every stored or printed table of user text goes through
    (addresses, statuses, raw categories, names, free text, quarantine lines):
    the cells of all the columns are stacked and scrubbed in one call, since the
    regex passes cost per call rather than per value.  Missing stays missing;
    non-text columns and columns not in ``columns`` are returned unchanged.

    Parameters
    ----------
    frame : pandas.DataFrame
    columns : list of str, optional
        Columns to scrub (default: every ``object``/``string`` column).  A
        listed column that is not text is converted to text first.

    Examples
    --------
    >>> df = pd.DataFrame({"address": ["西城区1号 138.1234.5678"], "n": [3]})
    >>> scrub_frame(df)["address"].iloc[0]
    '西城区1号 138****5678'
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if columns is None:
        columns = [c for c in frame.columns
                   if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"scrub_frame: no column(s) {missing} in the table; it has {list(frame.columns)}")
    out = frame.copy()
    n = len(out)
    if not columns or not n:
        return out
    import pyarrow as pa
    import pyarrow.compute as pc

    stacked = pd.concat([out[c].astype("string") for c in columns], ignore_index=True)
    # Statuses, categories and addresses repeat: the rules run on the distinct values only (one Arrow
    # hash pass), and of those only on the ones one RE2 pass finds a rule, the fold or a control
    # character could touch; only the cells whose value changes are written back.
    arr = pa.array(stacked, type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr)
    uniques = pd.Series(enc.dictionary.to_numpy(zero_copy_only=False), dtype="string")
    cand = uniques.str.contains(_FRAME_CANDIDATES, regex=True).fillna(False).to_numpy(dtype=bool)
    if not cand.any():
        return out
    before = uniques[cand]
    after = remove_control_chars(scrub_text(before)).astype("string")
    differs = (after != before).fillna(False).to_numpy(dtype=bool)
    if not differs.any():
        return out
    changed_u = np.zeros(len(uniques), dtype=bool)
    changed_u[np.flatnonzero(cand)[differs]] = True
    replacement = np.empty(len(uniques), dtype=object)
    replacement[np.flatnonzero(cand)] = after.to_numpy(dtype=object)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    cells = np.zeros(len(codes), dtype=bool)
    valid = codes >= 0
    cells[valid] = changed_u[codes[valid]]
    pos = np.flatnonzero(cells)
    for i, c in enumerate(columns):
        sel = (pos >= i * n) & (pos < (i + 1) * n)
        if not sel.any():
            continue
        values = out[c].astype("string").copy()
        values.iloc[pos[sel] - i * n] = replacement[codes[pos[sel]]]
        out[c] = values
    return out


_MASKERS = {"phone": mask_phone, "id_number": mask_id_number, "plate": mask_plate}


def mask_frame(frame: pd.DataFrame, personal: dict[str, str] | None = None) -> pd.DataFrame:
    """A table safe to show: personal columns masked, every other text column scrubbed.

    For previews of raw files (the intake page): ``personal`` maps a column to
    its kind (``"phone"``, ``"id_number"``, ``"plate"``), whose values are
    replaced by :func:`mask_phone` / :func:`mask_id_number` / :func:`mask_plate`
    forms; all other text columns go through :func:`scrub_frame`.

    Examples
    --------
    >>> df = pd.DataFrame({"来电号码": ["13812345678"], "内容": ["车牌京A12345"]})
    >>> mask_frame(df, {"来电号码": "phone"}).iloc[0].tolist()
    ['138****5678', '车牌京A·***45']
    """
    personal = dict(personal or {})
    bad = {k: v for k, v in personal.items() if v not in _MASKERS}
    if bad:
        raise ValueError(f"mask_frame: unknown kind(s) {bad}; use one of {sorted(_MASKERS)}")
    others = [c for c in frame.columns if c not in personal
              and (frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype))]
    out = scrub_frame(frame, others)
    for col, kind in personal.items():
        if col in out.columns:
            out[col] = _MASKERS[kind](out[col].astype("string")).astype("string")
    return out


def count_personal_data(text: pd.Series) -> pd.Series:
    """Number of unmasked phone numbers, ID numbers and plates in each text.

    Uses the same patterns as :func:`scrub_text`, so ``count_personal_data(scrub_text(s))``
    is zero everywhere; masked forms (``138****5678``) are not counted.
    """
    s = _fold(_as_text(text, "text"))
    return pd.Series(_apply_rules(s, count=True)[1], index=s.index, dtype="int64")


def find_personal_data(text: pd.Series) -> pd.Series:
    """True where a text still holds an unmasked phone number, ID number or plate.

    Examples
    --------
    >>> find_personal_data(pd.Series(["电话13812345678", "电话138****5678", "工单20240305123456"])).tolist()
    [True, False, False]
    """
    return count_personal_data(text).gt(0)


def personal_data_report(frame: pd.DataFrame) -> pd.Series:
    """Count unmasked personal data per text column of a table (for output checks).

    Returns a Series indexed by column name with the number of hits; only
    object/string columns are scanned.  An export is clean when ``.sum() == 0``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    cols = [c for c in frame.columns
            if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    return pd.Series({c: int(count_personal_data(frame[c]).sum()) for c in cols}, dtype="int64")
