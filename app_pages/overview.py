"""总览 Overview — for leaders: the period against the one before, grid ranking, weekly trend, problem list;
trends and look-back (next-week risk, patrol coverage gaps, 回头看 campaign review)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from geo.analysis import overview as ov
from geo.analysis.filters import EventFilter
from geo.app import data, mapview, session, ui
from geo.maps import render
from geo.settings import SOURCES, TIERS

FORECAST_FOLDS = 4  # backtest weeks: enough to rank the models, cheap enough for a page

c = ui.cat()
session.require("overview")
ws = data.workspace()
ev = data.events(ws)
st.title(c.t("overview.title"))
if ev.empty:
    st.info(c.t("app.no_events"))
    st.stop()

first, last = ui.data_dates(ev, ws)
left, mid, right, colour_box = st.columns([3, 2, 3, 3])
preset = left.radio(c.t("overview.period"), list(ov.PRESET_DAYS), index=1, horizontal=True,
                    format_func=lambda k: c.t(f"overview.preset.{k}"), key="ov_period")
as_of = mid.date_input(c.t("overview.as_of"), value=last, min_value=first, max_value=last, key="ov_as_of",
                       format="YYYY-MM-DD")
tier = right.radio(c.t("filter.tier"), TIERS, index=TIERS.index("small"), horizontal=True,
                   format_func=lambda t: c.t(f"tier.{t}"), key="ov_tier")

period = ov.period_for(ev, ws.settings, preset, as_of=as_of)
prev = period.previous()
st.caption(c.t("overview.compare", since=c.fmt_date(period.since), until=c.fmt_date(period.until),
               prev_since=c.fmt_date(prev.since), prev_until=c.fmt_date(prev.until)))
# the map needs the grids' ranking only: it is drawn before the KPIs, problems and trends are computed
ranking = data.ranking(ws, ev, period.since, period.until, tier)

# --- KPIs -----------------------------------------------------------------------------------------

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
    if kpi == "hot_cells":  # one definition across pages, said where the number is
        help_text += "\n\n" + c.t("mapview.hot_help")
    colour = "off" if pd.isna(row["change"]) or row["change"] == 0 else "inverse" if inverse else "normal"
    box.metric(c.t(f"kpi.{kpi}"), value, delta, delta_color=colour, help=help_text, border=True)


# --- the map: official grids by events per km² and change ------------------------------------------------
grid_names = data.grid_names(ws, tier)
all_names = {g: n for t in TIERS for g, n in data.grid_names(ws, t).items()}  # problems name any tier's grid
if ranking is not None and ws.grids is not None:
    colour_by = colour_box.segmented_control(c.t("mapview.ov_colour"), ["density", "change"], default="density",
                                     format_func=lambda k: c.t(f"mapview.ov_colour_{k}"), key="ov_colour",
                                     help=c.t("mapview.ov_map_help")) or "density"

    def tier_grids() -> gpd.GeoDataFrame:
        """The tier's grids with their ranking row (what the map colours and a click is looked up in)."""
        return ws.grids[ws.grids["tier"] == tier][["grid_id", "geometry"]].merge(ranking, on="grid_id")

    def choropleth() -> tuple[object, str]:
        layer_grids = tier_grids()
        layer_grids["top_label"] = layer_grids["top_category"].map(
            lambda code: c.category(ws.settings, code) if isinstance(code, str) else "")
        return render.grids_choropleth(layer_grids, colour_by, lang=c.lang, crs=crs, opacity=0.5)

    m, crs = mapview.base_map(ws)
    # built once per period, tier, colouring and language; the open map only swaps it
    choro, legend_html = mapview.cached_overlay(
        "choropleth", (data.key(ws), period.since, period.until, tier, colour_by, c.lang, crs), choropleth)
    out = mapview.show(ws, m, [choro], key="ov_map")
    st.html(legend_html)
    click = mapview.fresh_click(out, "ov_map", (tier, colour_by, period.since, period.until))
    if click is not None:
        lon, lat = render.points_from_display(np.array([click[0]]), np.array([click[1]]), crs)
        layer_grids = tier_grids()
        hit = layer_grids[layer_grids.contains(shapely.Point(float(lon[0]), float(lat[0])))]
        if len(hit) and hit["grid_id"].iloc[0] != st.session_state.get("ov_last_click"):
            st.session_state["ov_last_click"] = hit["grid_id"].iloc[0]
            st.session_state[f"ov_grid_{tier}"] = hit["grid_id"].iloc[0]

with st.spinner(c.t("spinner.overview")):
    res = data.overview(ws, ev, period.since, period.until, tier)
k = res["kpis"].set_index("kpi")

if ranking is not None and ws.grids is not None:
    # the picked grid: its numbers and open problems
    order = ranking["grid_id"].tolist()
    by_grid = ranking.set_index("grid_id")
    picked = st.selectbox(c.t("mapview.ov_pick"), order, key=f"ov_grid_{tier}", placeholder=c.t("mapview.choose"),
                          format_func=lambda g: f"{int(by_grid.at[g, 'rank'])}. {grid_names.get(g, g)}")
    row = by_grid.loc[picked]
    st.markdown(f"**{grid_names.get(picked, picked)}**" + (f" · {row['street_name']}"
                                                           if isinstance(row["street_name"], str) else ""))
    st.caption(c.t("mapview.ov_grid_numbers", events=c.fmt_int(row["events"]), per_km2=c.fmt_num(row["per_km2"], 0),
                   previous=c.fmt_int(row["previous"]), change=c.fmt_change(row["change"]),
                   closed=c.fmt_pct(row["closed_share"], 0)))
    if isinstance(row["top_category"], str):
        st.caption(c.t("mapview.ov_top", top=c.category(ws.settings, row["top_category"])))
    grid_problems = res["problems"]
    grid_problems = grid_problems[(grid_problems["grid_id"] == picked) & ~grid_problems["closed"].astype(bool)]
    if grid_problems.empty:
        st.info(c.t("mapview.ov_no_problems"))
    else:
        st.markdown(f"**{c.t('mapview.ov_grid_problems')}**")
        st.dataframe(pd.DataFrame({
            c.t("problem.kind"): grid_problems["kind"].map(lambda v: c.t(f"problem_kind.{v}")),
            c.t("problem.category"): grid_problems["category"].map(
                lambda code: c.category(ws.settings, code) if isinstance(code, str) else ""),
            c.t("problem.age_days"): grid_problems["age_days"].round(0).astype("Int64"),
            c.t("problem.open_events"): grid_problems["open_events"],
            c.t("problem.text"): grid_problems["text"].fillna(""),
        }), hide_index=True, width="stretch", height=220)

# --- KPIs under the map ---------------------------------------------------------------------------------
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
    if ranking is None:
        st.info(c.t("overview.no_grids"))
    else:
        table = ranking.copy()
        table["top_category"] = table["top_category"].map(
            lambda code: c.category(ws.settings, code) if isinstance(code, str) else "")
        table["change"] = table["change"] * 100
        table["closed_share"] = table["closed_share"] * 100
        st.dataframe(
            # names and the change first: a leader compares places, the ids come last
            ui.localised_frame(table.fillna({"street_name": "", "unit": "", "top_category": ""}), "ranking",
                               ["rank", "name", "street_name", "events", "change", "previous", "per_km2",
                                "top_category", "closed_share", "unit", "grid_id"]),
            hide_index=True, width="stretch", height=380,
            column_config={
                c.t("ranking.per_km2"): st.column_config.NumberColumn(format="%.0f"),
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
    "age_days": shown["age_days"].round(0).astype("Int64"),  # whole days
    "open_events": shown["open_events"],
    "grid_id": shown["grid_id"].map(lambda g: all_names.get(g, g) if isinstance(g, str) else ""),
    "phone_masked": shown["phone_masked"].fillna(""),
    "text": shown["text"].fillna(""),
})
st.dataframe(ui.localised_frame(display, "problem"), hide_index=True, width="stretch", height=360,
             column_config={c.t("problem.since"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
if session.can("export_aggregates"):
    localised = ui.localised_frame(display, "problem")
    ui.download_buttons(localised, f"problems_{period.since}_{period.until}", (".xlsx", ".csv"), key="ov_dl",
                        what="problems", sheet_name=c.t("overview.problems"),
                        details={"since": str(period.since), "until": str(period.until), "tier": tier,
                                 "show_closed": bool(show_closed)})

# --- trends and look-back (趋势与回头看) -------------------------------------------------------------------
st.divider()
st.header(c.t("trends.title"))
# everything up to the as-of date (the trend analyses need the long history, not the period)
trend_flt = EventFilter(until=period.until if period.until < last else None)
st.caption(c.t("trends.caption", until=c.fmt_date(period.until), tier=c.t(f"tier.{tier}")))
names = data.grid_names(ws, tier)

st.subheader(c.t("trends.risk"))


@st.fragment
def risk() -> None:
    """Next week's risk: its toggle reruns this part alone (the forecast is computed in the background
    while the page is read, see below)."""
    session.confirm(ws)
    if st.toggle(c.t("trends.risk_toggle"), value=False, key="ov_forecast"):
        fc = None
        with ui.guard(stop=False), st.spinner(c.t("spinner.trends")):
            fc = data.forecast(ws, ev, trend_flt, tier, folds=FORECAST_FOLDS)
        if fc is not None:
            s = fc.summary
            st.caption(c.t("trends.risk_caption", week=c.fmt_date(s["forecast_week"]), model=c.t(f"model.{s['model']}"),
                           last=c.fmt_int(s["last_week_total"]), expected=c.fmt_num(s["expected_total"], 0)))
            ui.show_notes([n for n in s.get("notes", []) if " is flagged and never the default" not in n])
            top_grids = data.forecast_grids(ws, ev, trend_flt, tier, folds=FORECAST_FOLDS)
            left, right = st.columns(2)
            if top_grids is not None:
                left.markdown(f"**{c.t('trends.top_grids')}**")
                left.dataframe(ui.localised_frame(top_grids.round({"expected": 1}), "forecast"), hide_index=True,
                               width="stretch")
            top_cells = fc.cells.sort_values("rank").head(10)
            top_cells = pd.DataFrame({"rank": top_cells["rank"], "h3": top_cells["h3"],
                                      "name": top_cells["grid_id"].map(names), "expected": top_cells["expected"].round(1),
                                      "last_week": top_cells["last_week"]})
            right.markdown(f"**{c.t('trends.top_cells')}**")
            right.dataframe(ui.localised_frame(top_cells, "forecast"), hide_index=True, width="stretch")
            if fc.backtest is not None:
                with st.expander(c.t("trends.backtest", folds=FORECAST_FOLDS)):
                    st.caption(c.t("trends.backtest_caption"))
                    if s.get("runner_up"):
                        st.markdown(c.t("trends.backtest_winner", winner=c.t(f"model.{s['winner']}"),
                                        win=c.fmt_num(s["winner_pai_5"], 2), run=c.fmt_num(s["runner_up_pai_5"], 2),
                                        runner=c.t(f"model.{s['runner_up']}"), margin=c.fmt_num(s["margin_pai_5"], 2)))
                    for r in fc.backtest.table[fc.backtest.table["flag"] != ""].itertuples(index=False):
                        st.warning(c.t("trends.backtest_flagged", model=c.t(f"model.{r.model}"), flag=r.flag))
                    bt = fc.backtest.table.copy()
                    bt["model"] = [("★ " if d else "") + c.t(f"model.{m}") for m, d in zip(bt["model"], bt["default"],
                                                                                          strict=True)]
                    cols_bt = ["model"] + [col for col in bt.columns if col.startswith(("hit_", "pai_"))] + ["mae"]
                    shown_bt = bt[cols_bt].copy()
                    for col in cols_bt[1:]:
                        shown_bt[col] = shown_bt[col].round(3 if col.startswith("hit_") else 2)
                    st.dataframe(ui.localised_frame(shown_bt, "forecast"), hide_index=True, width="stretch")


risk()

st.subheader(c.t("trends.gaps"))
st.caption(c.t("trends.gaps_caption"))
gp = None
with ui.guard(stop=False), st.spinner(c.t("spinner.trends")):
    gp = data.gaps(ws, ev, trend_flt, tier)
if gp is not None:
    ui.show_notes(gp.summary.get("notes"))
    table_gp = gp.grids if gp.grids is not None else gp.cells
    if gp.grids is None:
        st.info(c.t("trends.no_grids"))
    table_gp = table_gp[table_gp["max_shortfall"] > 0].head(10).copy()
    key_col = "grid_id" if gp.grids is not None else "h3"
    if key_col == "grid_id":
        table_gp.insert(2, "name", table_gp["grid_id"].map(names))
    table_gp["worst_window"] = table_gp["worst_window"].map(lambda w: c.window(ws.settings, w))
    table_gp["gap_windows"] = table_gp["gap_windows"].map(
        lambda text: "、".join(c.window(ws.settings, w) for w in text.split(",") if w))
    table_gp = table_gp.round({"max_shortfall": 1, "worst_window_coverage": 2})
    cols_gp = ["rank", key_col] + (["name"] if key_col == "grid_id" else []) + [
        "demand", "patrol", "max_shortfall", "worst_window", "worst_window_coverage", "gap_windows"]
    st.dataframe(ui.localised_frame(table_gp, "gap", cols_gp), hide_index=True, width="stretch")

st.subheader(c.t("trends.review"))
st.caption(c.t("trends.review_caption"))
review_tier = "middle"
review_names = data.grid_names(ws, review_tier)
if not review_names:
    st.info(c.t("overview.no_grids"))
else:
    with st.form("ov_review"):
        picked = st.multiselect(c.t("trends.review_grids"), list(review_names), key="ov_rv_grids", placeholder=c.t("mapview.choose"),
                                format_func=lambda g: f"{g} · {review_names[g]}")
        a, b = st.columns(2)
        start = a.date_input(c.t("trends.review_start"), value=max(first, last - pd.Timedelta(days=56)),
                             min_value=first, max_value=last, key="ov_rv_start", format="YYYY-MM-DD")
        end = b.date_input(c.t("trends.review_end"), value=last, min_value=first, max_value=last,
                           key="ov_rv_end", format="YYYY-MM-DD")
        if st.form_submit_button(c.t("trends.review_go")):
            st.session_state["ov_rv_params"] = (tuple(picked), start, end)
    params = st.session_state.get("ov_rv_params")
    if params is not None and not params[0]:
        st.warning(c.t("trends.review_pick"))
    elif params is not None:
        rv = None
        with ui.guard(stop=False), st.spinner(c.t("spinner.review")):
            rv = data.review(ws, ev, params[1], params[2], params[0])
        if rv is not None:
            e, s = rv.estimate, rv.summary
            left, right = st.columns(2)
            left.metric(c.t("trends.review_change"), c.fmt_change(e["change"]), border=True,
                        help=c.t("trends.review_ci", low=c.fmt_change(e["ci_low"]), high=c.fmt_change(e["ci_high"])))
            right.metric(c.t("trends.review_inside"), c.fmt_int(s["inside_campaign"]), border=True,
                         help=c.t("trends.review_inside_help", before=c.fmt_int(s["inside_before"]),
                                  during=c.fmt_int(s["inside_campaign"]), weeks_before=e["weeks_before"],
                                  weeks_after=e["weeks_after"]))
            st.caption(c.t("trends.review_ci", low=c.fmt_change(e["ci_low"]), high=c.fmt_change(e["ci_high"])))
            weekly = rv.weekly.set_index("week_start")[["inside", "comparison"]]
            weekly.index = [c.fmt_date(w) for w in weekly.index]
            weekly = weekly.rename(columns={"inside": c.t("trends.inside"), "comparison": c.t("trends.comparison")})
            st.line_chart(weekly, x_label=c.t("trends.review_weekly"), height=260)
            st.markdown(f"**{c.t('trends.review_came_back')}**")
            if s["notes"]:  # no data after the campaign end
                st.info(c.t("trends.review_no_after"))
            elif rv.came_back.empty:
                st.info(c.t("trends.review_came_back_none"))
            else:
                labels = render.bin_labels(c)
                back = rv.came_back.copy()
                for col in ("bin_before", "bin_during", "bin_after"):
                    back[col] = back[col].map(lambda v: labels[int(v)])
                st.dataframe(ui.localised_frame(back, "came_back", ["h3", "bin_before", "bin_during", "bin_after"]),
                             hide_index=True, width="stretch")

# the forecast takes seconds (a backtest of learned models): computed in the background for this store
# version, tier and date, so the risk toggle finds it ready
if not st.session_state.get("ov_forecast"):
    data.prefetch_forecast(ws, ev, trend_flt, tier, folds=FORECAST_FOLDS)

# the other tiers' cells and grid crosswalks, built in the background while the page is read: the first
# switch of tier then only runs its analysis
data.prefetch_tiers(ws)
