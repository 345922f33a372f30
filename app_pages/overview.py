"""总览 Overview — for leaders: the period against the one before, grid ranking, weekly trend, problem list."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo import overview as ov
from geo.app import data, ui
from geo.settings import SOURCES, TIERS

c = ui.cat()
ws = data.workspace()
ev = data.events(ws)
st.title(c.t("overview.title"))
if ev.empty:
    st.info(c.t("app.no_events"))
    st.stop()

first, last = ui.data_dates(ev, ws)
left, mid, right = st.columns(3)
preset = left.radio(c.t("overview.period"), list(ov.PRESET_DAYS), index=1, horizontal=True,
                    format_func=lambda k: c.t(f"overview.preset.{k}"), key="ov_period")
as_of = mid.date_input(c.t("overview.as_of"), value=last, min_value=first, max_value=last, key="ov_as_of",
                       format="YYYY-MM-DD")
tier = right.radio(c.t("filter.tier"), TIERS, index=TIERS.index("small"), horizontal=True,
                   format_func=lambda t: c.t(f"tier.{t}"), key="ov_tier")

period = ov.period_for(ev, ws.settings, preset, as_of=as_of)
prev = period.previous()
with st.spinner(c.t("spinner.overview")):
    res = data.overview(ws, ev, period.since, period.until, tier)
st.caption(c.t("overview.compare", since=c.fmt_date(period.since), until=c.fmt_date(period.until),
               prev_since=c.fmt_date(prev.since), prev_until=c.fmt_date(prev.until)))

# --- KPIs -----------------------------------------------------------------------------------------
k = res["kpis"].set_index("kpi")


def metric(box: st.delta_generator.DeltaGenerator, kpi: str, *, inverse: bool = False) -> None:
    row = k.loc[kpi]
    if row["kind"] == "share":
        value = c.fmt_pct(row["current"])
        delta = None if pd.isna(row["change"]) else c.t("format.pp", value=c.fmt_num(row["change"] * 100, 1))
        if delta is not None and row["change"] > 0:
            delta = "+" + delta
    else:
        value = c.fmt_int(row["current"])
        delta = None if pd.isna(row["change"]) else c.fmt_change(row["change"])
    help_text = c.t("overview.previous_value", value=c.fmt_pct(row["previous"]) if row["kind"] == "share"
                    else c.fmt_int(row["previous"]))
    colour = "off" if pd.isna(row["change"]) or row["change"] == 0 else "inverse" if inverse else "normal"
    box.metric(c.t(f"kpi.{kpi}"), value, delta, delta_color=colour, help=help_text, border=True)


cols = st.columns(4)
metric(cols[0], "events", inverse=True)
metric(cols[1], "hotline_closure_rate")
metric(cols[2], "hotline_overdue", inverse=True)
metric(cols[3], "hot_cells", inverse=True)
present = [s for s in SOURCES if (k.loc[f"events_{s}", ["current", "previous"]] > 0).any()]
if present:
    cols = st.columns(max(len(present), 4))
    for box, source in zip(cols, present, strict=False):
        metric(box, f"events_{source}", inverse=True)

# --- ranking and trend -------------------------------------------------------------------------------
left, right = st.columns([3, 2])
with left:
    st.subheader(c.t("overview.ranking", tier=c.t(f"tier.{tier}")))
    ranking = res["ranking"]
    if ranking is None:
        st.info(c.t("overview.no_grids"))
    else:
        table = ranking.copy()
        table["top_category"] = table["top_category"].map(
            lambda code: c.category(ws.settings, code) if isinstance(code, str) else "")
        table["change"] = table["change"] * 100
        table["closed_share"] = table["closed_share"] * 100
        st.dataframe(
            ui.localised_frame(table, "ranking"), hide_index=True, width="stretch", height=380,
            column_config={
                c.t("ranking.per_km2"): st.column_config.NumberColumn(format="%.1f"),
                c.t("ranking.change"): st.column_config.NumberColumn(format="%+.1f%%"),
                c.t("ranking.closed_share"): st.column_config.ProgressColumn(format="%.0f%%", min_value=0,
                                                                             max_value=100),
            })
with right:
    st.subheader(c.t("overview.trend"))
    trend = res["trend"]
    trend = trend.loc[:, trend.sum(axis=0) > 0]
    trend = trend.rename(columns=lambda s: c.t(f"source.{s}"))
    trend.index = [c.fmt_week(w) for w in trend.index]  # ordinal labels sort in week order
    st.bar_chart(trend, x_label=c.t("overview.week"), y_label=c.t("overview.events"), height=380)

# --- problem list (销号管理) -------------------------------------------------------------------------------
st.subheader(c.t("overview.problems"))
problems = res["problems"]
show_closed = st.toggle(c.t("overview.show_closed"), value=False, key="ov_show_closed")
shown = problems if show_closed else problems[~problems["closed"].astype(bool)]
n_open = int((~problems["closed"].astype(bool)).sum())
n_overdue = int((problems["overdue"].astype(bool) & ~problems["closed"].astype(bool)).sum())
st.caption(c.t("overview.problem_counts", open=c.fmt_int(n_open), overdue=c.fmt_int(n_overdue),
               total=c.fmt_int(len(problems))))
display = pd.DataFrame({
    "status": [c.t("problem_status.closed") if cl else c.t("problem_status.overdue") if od
               else c.t("problem_status.open") for cl, od in zip(shown["closed"], shown["overdue"], strict=True)],
    "kind": shown["kind"].map(lambda v: c.t(f"problem_kind.{v}")),
    "item": shown["item"],
    "category": shown["category"].map(lambda code: c.category(ws.settings, code) if isinstance(code, str) else ""),
    "since": pd.to_datetime(shown["since"], utc=True).dt.tz_convert(ws.settings.timezone).dt.tz_localize(None),
    "age_days": shown["age_days"].round(1),
    "open_events": shown["open_events"],
    "grid_id": shown["grid_id"],
    "phone_masked": shown["phone_masked"],
    "text": shown["text"],
})
st.dataframe(ui.localised_frame(display, "problem"), hide_index=True, width="stretch", height=360,
             column_config={c.t("problem.since"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
localised = ui.localised_frame(display, "problem")
ui.download_buttons(localised, f"problems_{period.since}_{period.until}", (".xlsx", ".csv"), key="ov_dl",
                    sheet_name=c.t("overview.problems"))
