"""事件明细 Event detail (analysts) — the filtered events one by one, masked; repeat callers and plates.

Personal fields appear only in their masked forms (``138****5678``); repeats are counted by the
salted hashes, which never reach the page or the download.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from geo.app import data, session, ui

PAGE_SIZES = (50, 100, 500)

c = ui.cat()
session.require("events")
ws = data.workspace()
ev = data.events(ws)
st.title(c.t("events.title"))
st.caption(c.t("events.intro"))
if ev.empty:
    st.info(c.t("app.no_events"))
    st.stop()

f = ui.filter_widgets(ws, ev, "evp", tier=False)
table = data.event_detail(ws, ev, f.flt)
first, last = ui.data_dates(ev, ws)
st.caption(ui.describe_filter(f.flt, ws, first, last) + " · " + c.t("events.count", n=c.fmt_int(len(table))))

labels = c.categories(ws.settings)
tz = ws.settings.timezone
display = pd.DataFrame({
    "occurred_at": table["occurred_at"].dt.tz_convert(tz).dt.tz_localize(None),
    "source": table["source"].map(lambda s: c.t(f"source.{s}")),
    "category": table["category"].map(lambda k: labels.get(k, k)),
    "address": table["address"],
    "status": table["status"],
    "is_closed": table["is_closed"].map({True: c.t("problem_status.closed"), False: c.t("problem_status.open")}),
    "closed_at": table["closed_at"].dt.tz_convert(tz).dt.tz_localize(None),
    "text": table["text"],
    "phone_masked": table["phone_masked"],
    "id_masked": table["id_masked"],
    "plate_masked": table["plate_masked"],
    "grid_small": table["grid_small"],
    "event_id": table["event_id"],
})

# --- paging ---------------------------------------------------------------------------------------
left, mid, _ = st.columns([1, 1, 3])
size = left.selectbox(c.t("events.page_size"), PAGE_SIZES, key="evp_size", placeholder=c.t("mapview.choose"))
n_pages = max(1, math.ceil(len(display) / size))
if int(st.session_state.get("evp_page", 1)) > n_pages:  # a narrower filter: back to the first page
    st.session_state["evp_page"] = 1
page = int(mid.number_input(c.t("events.page"), min_value=1, max_value=n_pages, value=1, step=1, key="evp_page"))
shown = display.iloc[(page - 1) * size: page * size]
when = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
st.dataframe(ui.localised_frame(shown, "event"), hide_index=True, width="stretch", height=420,
             column_config={c.t("event.occurred_at"): when, c.t("event.closed_at"): when})
st.caption(c.t("events.page_of", page=c.fmt_int(page), pages=c.fmt_int(n_pages), total=c.fmt_int(len(display))))
if session.can("view_events"):
    ui.download_buttons(ui.localised_frame(display, "event"), f"events_{f.flt.window}_{first}_{last}", (".csv",),
                        key="evp_dl", what="events", details={"filters": f.flt.describe()})

# --- repeats ------------------------------------------------------------------------------------------
st.subheader(c.t("events.repeats"))
st.caption(c.t("events.repeats_caption"))
for box, kind in zip(st.columns(2), data.REPEAT_KINDS, strict=True):
    rep = data.repeats(ws, ev, f.flt, kind).copy()
    with box:
        st.markdown(f"**{c.t(f'events.repeat_{kind}')}**")
        if rep.empty:
            st.info(c.t("events.no_repeats"))
            continue
        for col in ("first", "last"):
            rep[col] = rep[col].dt.tz_convert(tz).dt.strftime("%Y-%m-%d")
        st.dataframe(ui.localised_frame(rep, "repeat"), hide_index=True, width="stretch")
