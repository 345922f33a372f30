"""Widgets and display helpers shared by the pages (language, errors, filters, maps, downloads)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from geo.analysis.filters import EventFilter
from geo.app.lang import cat
from geo.errors import GridwatchError
from geo.settings import SOURCES, TIERS
from geo.store.workspace import Workspace

log = logging.getLogger("gridwatch.app")

# --- errors ---------------------------------------------------------------------------------------

def show_error(exc: BaseException) -> None:
    """A library error as ``st.error``: translated headline, the library's message, the fix."""
    c = cat()
    title, fix = c.error(exc)
    st.error(f"**{title}**\n\n{exc}\n\n{c.t('error.fix_label')}: {fix}", icon=":material/error:")


@contextmanager
def guard(stop: bool = True) -> Iterator[None]:
    """Turn library errors into ``st.error`` (never a traceback); optionally stop the page.

    ``GridwatchError`` and ``ValueError`` (with subclasses) carry a message
    that says what to fix; anything else is logged with its traceback on the
    server and shown as a short generic error.
    """
    try:
        yield
    except (GridwatchError, ValueError) as exc:
        show_error(exc)
        if stop:
            st.stop()
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback to a user
        if type(exc).__module__.startswith("streamlit"):
            raise  # rerun/stop control flow
        log.exception("unexpected error in the app")
        show_error(exc)
        if stop:
            st.stop()


# --- filters ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    flt: EventFilter
    tier: str


def data_dates(ev: pd.DataFrame, ws: Workspace) -> tuple[date, date]:
    """First and last local date with events (today for an empty store)."""
    if ev.empty:
        today = pd.Timestamp.now(tz=ws.settings.timezone).date()
        return today, today
    local = ev["occurred_at"].agg(["min", "max"]).dt.tz_convert(ws.settings.timezone)
    return local.iloc[0].date(), local.iloc[1].date()


def filter_widgets(ws: Workspace, ev: pd.DataFrame, prefix: str, *, tier: bool = True,
                   sources: bool = True, container: Any = None, default_window: str = "all") -> Filters:
    """Tier, time window, sources, categories and dates (in the sidebar by default)."""
    c = cat()
    box = container or st.sidebar
    settings = ws.settings
    chosen_tier = "small"
    if tier:
        chosen_tier = box.radio(c.t("filter.tier"), TIERS, index=TIERS.index("small"),
                                format_func=lambda t: c.t(f"tier.{t}"), key=f"{prefix}_tier", horizontal=True)
    windows = c.windows(settings)
    names = list(windows)
    window = box.selectbox(c.t("filter.window"), names, index=names.index(default_window)
                           if default_window in names else 0, format_func=windows.__getitem__,
                           key=f"{prefix}_window", placeholder=c.t("mapview.choose"))
    chosen_sources: list[str] = []
    if sources:
        in_store = set(ev["source"].unique())  # once: inside the comprehension it scanned the events per source
        present = [s for s in SOURCES if s in in_store] or list(SOURCES)
        chosen_sources = box.multiselect(c.t("filter.sources"), present,
                                         format_func=lambda s: c.t(f"source.{s}"), key=f"{prefix}_sources",
                                         placeholder=c.t("filter.all"))
    labels = c.categories(settings)
    stored_cats = set(ev["category"].unique())
    present_cats = [k for k in labels if k in stored_cats] or list(labels)
    chosen_cats = box.multiselect(c.t("filter.categories"), present_cats, format_func=labels.__getitem__,
                                  key=f"{prefix}_categories", placeholder=c.t("filter.all"))
    first, last = data_dates(ev, ws)
    span = box.date_input(c.t("filter.dates"), value=(first, last), min_value=first, max_value=last,
                          key=f"{prefix}_dates", format="YYYY-MM-DD")
    since, until = _date_range(span, first, last)
    flt = EventFilter(window=window, sources=tuple(chosen_sources), categories=tuple(chosen_cats),
                      since=since if since != first else None, until=until if until != last else None)
    return Filters(flt=flt, tier=chosen_tier)


def _date_range(value: Any, first: date, last: date) -> tuple[date, date]:
    """A date_input value as (since, until); a half-picked range keeps the data's end."""
    if isinstance(value, (tuple, list)):
        if len(value) == 2:
            return value[0], value[1]
        if len(value) == 1:
            return value[0], last
        return first, last
    return value, value


def describe_filter(flt: EventFilter, ws: Workspace, first: date, last: date) -> str:
    """One line saying what is shown (window, sources, categories, dates)."""
    c = cat()
    parts = [c.window(ws.settings, flt.window)]
    parts.append("、".join(c.t(f"source.{s}") for s in flt.sources) if flt.sources else c.t("filter.all_sources"))
    parts.append("、".join(c.category(ws.settings, k) for k in flt.categories) if flt.categories
                 else c.t("filter.all_categories"))
    parts.append(f"{c.fmt_date(flt.since or first)} – {c.fmt_date(flt.until or last)}")
    return " · ".join(parts)


# --- Streamlit's own texts -------------------------------------------------------------------------

def localise_uploader() -> None:
    """Streamlit's uploader texts (drop zone, size limit, button) in the session's language.

    Streamlit draws them in English and offers no option: the English spans are hidden and the
    catalogue's texts drawn in their place (CSS generated content, so screen text and limit agree:
    the limit is ``server.maxUploadSize``).
    """
    c = cat()
    limit = int(st.get_option("server.maxUploadSize"))
    texts = {"drop": c.t("mapview.upload_drop"), "limit": c.t("mapview.upload_limit", mb=limit),
             "browse": c.t("mapview.upload_browse")}
    q = {k: v.replace("\\", "").replace('"', "'") for k, v in texts.items()}
    box = '[data-testid="stFileUploaderDropzoneInstructions"]'
    zone = '[data-testid="stFileUploaderDropzone"]'
    st.html(
        # map first: less white space above the page title, so the map starts high on the screen
        "<style>.block-container{padding-top:2.2rem !important}h1{font-size:1.9rem !important;"
        "padding-top:0 !important}"
        f"{box} span,{box} small{{display:none}}"
        f'{box} > div::before{{content:"{q["drop"]}";display:block}}'
        f'{box} > div::after{{content:"{q["limit"]}";display:block;font-size:0.85em;opacity:.7}}'
        f"{zone} button *{{font-size:0 !important}}{zone} button [data-testid=stIconMaterial]{{display:none}}"
        f'{zone} button::after{{content:"{q["browse"]}";font-size:0.9rem}}</style>')


# --- downloads ------------------------------------------------------------------------------------------

MIME = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".geojson": "application/geo+json",
}


def table_bytes(df: pd.DataFrame, suffix: str, *, sheet_name: str = "data") -> bytes:
    """A table written by :func:`geo.store.export.write_table` (formula-escaped CSV/XLSX, GeoJSON) as bytes."""
    from geo.store.export import write_table

    with tempfile.TemporaryDirectory() as tmp:
        path = write_table(df, Path(tmp) / f"table{suffix}", sheet_name=sheet_name)
        return path.read_bytes()


def show_notes(notes: list[str] | None) -> None:
    """The analysis's data notes (thin or odd data, see :mod:`geo.analysis.notes`) under one heading."""
    if not notes:
        return
    c = cat()
    said, other = [], []
    for n in dict.fromkeys(notes):
        key = getattr(n, "key", "")
        if key and c.has(f"note.{key}"):  # a keyed note (geo.analysis.notes.Note) in the page's language
            said.append(c.t(f"note.{key}", **n.values))
        else:
            other.append(str(n))
    if said:
        st.info(f"**{c.t('common.notes')}**\n\n" + "\n".join(f"- {n}" for n in said))
    if other:  # notes without a catalogue entry exist in English only: folded away, not mixed into the page
        with st.expander(c.t("common.notes_original")):
            st.markdown("\n".join(f"- {n}" for n in other))


def localised_frame(df: pd.DataFrame, prefix: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Columns renamed to ``<prefix>.<column>`` labels of the catalogue (display only)."""
    c = cat()
    cols = columns or list(df.columns)
    return df[cols].rename(columns={col: c.t(f"{prefix}.{col}") for col in cols})


def download_buttons(df: pd.DataFrame, basename: str, suffixes: tuple[str, ...], *, key: str, what: str,
                     details: dict[str, Any] | None = None, sheet_name: str = "data") -> None:
    """One download button per format; files are written only when clicked, and each click is audited.

    ``what`` names the table in the audit log (``problems``, ``hotspot_cells`` …), ``details`` adds
    the filters and parameters that produced it.
    """
    from geo.app import session

    c = cat()
    cols = st.columns(len(suffixes) + 2)
    info = {"rows": int(len(df)), **(details or {})}
    for box, suffix in zip(cols, suffixes, strict=False):
        session.download_button(c.t(f"download.{suffix.lstrip('.')}"),
                                data=lambda s=suffix: table_bytes(df, s, sheet_name=sheet_name),
                                file_name=f"{basename}{suffix}", mime=MIME[suffix], key=f"{key}_{suffix.lstrip('.')}",
                                what=what, details=info, box=box)
