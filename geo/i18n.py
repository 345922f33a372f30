"""Message catalogues: every label, legend, number format and error message in Chinese and English.

The texts live in ``geo/locale/<lang>.toml`` (one table per screen or topic,
flattened to dotted keys such as ``"hotspot.legend.hot_99"``); code asks for
a key and never branches on the language.  Number and date formats are part
of the catalogue too (``[format]``), so ``12,345``, ``12.3%``, ``1.2万`` or
``2024年03月01日`` come from data, not from ``if lang == "zh"``.

Simplified Chinese is the default; English is the switch.  A key missing
from one catalogue falls back to the other and then to the key itself, so a
missing translation never breaks a page (``tests/test_i18n.py`` keeps the two
catalogues in step).

Examples
--------
>>> cat = catalogue("en")
>>> cat.t("source.hotline")
'12345 hotline'
>>> catalogue("zh").fmt_int(12345)
'12,345'
>>> catalogue("zh").fmt_compact(123456)
'12.3万'
"""

from __future__ import annotations

import math
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

LANGS: tuple[str, ...] = ("zh", "en")
"""Supported languages, the default first."""

DEFAULT_LANG = "zh"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def _flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def placeholders(text: str) -> set[str]:
    """Names of the ``{placeholders}`` of a message (format specs ignored)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text)
            if name}


class _Missing(dict):  # type: ignore[type-arg]
    """format_map helper: an unknown placeholder stays visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Catalogue:
    """The messages and formats of one language.

    Attributes
    ----------
    lang : str
        ``"zh"`` or ``"en"``.
    messages : dict
        Flattened ``key -> text`` (text may hold ``{placeholders}``).
    fallback : Catalogue, optional
        Where a missing key is looked up next.
    """

    lang: str
    messages: dict[str, Any]
    fallback: Catalogue | None = field(default=None, repr=False)

    # --- messages --------------------------------------------------------------
    def raw(self, key: str) -> Any:
        """The catalogue value of ``key`` (fallback, then the key itself)."""
        if key in self.messages:
            return self.messages[key]
        if self.fallback is not None and key in self.fallback.messages:
            return self.fallback.messages[key]
        return key

    def has(self, key: str) -> bool:
        return key in self.messages

    def t(self, key: str, /, **values: Any) -> str:
        """The message ``key`` with ``{placeholders}`` filled from ``values``."""
        text = self.raw(key)
        if not isinstance(text, str):
            raise TypeError(f"catalogue key {key!r} holds a {type(text).__name__}, not a message; "
                            "use Catalogue.raw() for tables and lists")
        return text.format_map(_Missing(values)) if values else text

    def options(self, prefix: str, codes: Iterable[str]) -> dict[str, str]:
        """``code -> label`` for a group of keys such as ``source.*``."""
        return {code: self.t(f"{prefix}.{code}") for code in codes}

    # --- domain labels ---------------------------------------------------------------
    def category(self, settings: Any, code: str) -> str:
        """Label of a category code from the workspace's category table."""
        for c in getattr(settings, "all_categories", settings.categories):
            if c.code == code:
                return c.display(self.lang)
        return self.t("category.other") if code == "other" else str(code)

    def categories(self, settings: Any) -> dict[str, str]:
        """``code -> label`` of every category of the workspace (``other`` last)."""
        out = {c.code: c.display(self.lang) for c in getattr(settings, "all_categories", settings.categories)}
        out["other"] = self.t("category.other")
        return out

    def window(self, settings: Any, name: str) -> str:
        """Label of a named time window of the workspace."""
        for w in settings.windows:
            if w.name == name:
                return str(getattr(w, f"label_{self.lang}"))
        return name

    def windows(self, settings: Any) -> dict[str, str]:
        return {w.name: str(getattr(w, f"label_{self.lang}")) for w in settings.windows}

    # --- numbers and dates ---------------------------------------------------------------
    def _group(self, digits: str) -> str:
        sep = self.raw("format.thousands")
        head = len(digits) % 3 or 3
        parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
        return sep.join(parts)

    def fmt_num(self, value: float | int | None, digits: int = 0) -> str:
        """A number with the language's grouping and decimal mark (``—`` for missing)."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
            return self.t("format.missing")
        text = f"{abs(float(value)):.{digits}f}"
        whole, _, frac = text.partition(".")
        out = self._group(whole) + (self.raw("format.decimal") + frac if frac else "")
        return ("-" if float(value) < 0 and float(text) != 0 else "") + out

    def fmt_int(self, value: float | int | None) -> str:
        return self.fmt_num(value, 0)

    def fmt_pct(self, share: float | None, digits: int = 1) -> str:
        """A share (0.123) as a percentage (``12.3%``)."""
        if share is None or pd.isna(share):
            return self.t("format.missing")
        return self.t("format.percent", value=self.fmt_num(float(share) * 100, digits))

    def fmt_change(self, change: float | None, digits: int = 1) -> str:
        """A relative change (0.25) as ``+25.0%`` / ``-10.0%``."""
        if change is None or pd.isna(change):
            return self.t("format.missing")
        sign = "+" if change > 0 else ""
        return sign + self.fmt_pct(change, digits)

    def fmt_compact(self, value: float | int | None, digits: int = 1) -> str:
        """Large numbers with the language's units (``12.3万`` / ``123.5k``)."""
        if value is None or pd.isna(value):
            return self.t("format.missing")
        for threshold, unit in self.raw("format.compact_units"):
            if abs(value) >= threshold:
                return self.fmt_num(value / threshold, digits) + unit
        return self.fmt_int(value)

    def fmt_date(self, value: date | datetime | pd.Timestamp | None, style: str = "short") -> str:
        """A date with the language's pattern (``format.date_short``/``date_long``)."""
        if value is None or pd.isna(value):
            return self.t("format.missing")
        return pd.Timestamp(value).strftime(self.raw(f"format.date_{style}"))

    def fmt_datetime(self, value: datetime | pd.Timestamp | None, timezone: str | None = None) -> str:
        if value is None or pd.isna(value):
            return self.t("format.missing")
        ts = pd.Timestamp(value)
        if timezone is not None and ts.tzinfo is not None:
            ts = ts.tz_convert(timezone)
        return ts.strftime(self.raw("format.datetime"))

    def fmt_week(self, value: date | pd.Timestamp) -> str:
        """An ISO week label (``2024年第09周`` / ``2024-W09``)."""
        iso = pd.Timestamp(value).isocalendar()
        return self.t("format.week", year=iso.year, week=f"{iso.week:02d}")

    # --- errors ---------------------------------------------------------------------------
    def error(self, exc: BaseException) -> tuple[str, str]:
        """Title and fix hint of a library error, by the most specific class with a hint.

        The message itself comes from the library (it names the bad value);
        the catalogue adds a translated headline and what to do next.
        """
        for cls in type(exc).__mro__:
            key = f"error.{cls.__name__}"
            if self.has(key + ".title"):
                return self.t(key + ".title"), self.t(key + ".fix")
        return self.t("error.Exception.title"), self.t("error.Exception.fix")


@lru_cache(maxsize=8)
def _load(lang: str) -> dict[str, Any]:
    path = LOCALE_DIR / f"{lang}.toml"
    with open(path, "rb") as fh:
        return _flatten(tomllib.load(fh))


def check_lang(lang: str | None) -> str:
    """A supported language code (``None``/empty gives the default)."""
    if not lang:
        return DEFAULT_LANG
    lang = str(lang).lower().split("-")[0].split("_")[0]
    if lang not in LANGS:
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGS)}")
    return lang


@lru_cache(maxsize=8)
def catalogue(lang: str | None = None) -> Catalogue:
    """The catalogue of ``lang`` (default Simplified Chinese), with the other as fallback."""
    lang = check_lang(lang)
    other = next(code for code in LANGS if code != lang)
    return Catalogue(lang=lang, messages=_load(lang), fallback=Catalogue(lang=other, messages=_load(other)))


def t(key: str, lang: str | None = None, /, **values: Any) -> str:
    """Shortcut for ``catalogue(lang).t(key, **values)``."""
    return catalogue(lang).t(key, **values)


def keys(lang: str) -> set[str]:
    """All keys of one catalogue (for the consistency tests)."""
    return set(_load(check_lang(lang)))
