"""岗位规划 Post planner — where to stand p posts to cover the most weighted violations in a shift."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.app import data, session, ui
from geo.maps import render
from geo.planning.posts import DEPLOYMENT_HEADERS_EN, DEPLOYMENT_HEADERS_ZH, deployment_table

c = ui.cat()
session.require("planner")
ws = data.workspace()
ev = data.events(ws)
st.title(c.t("planner.title"))
if ev.empty:
    st.info(c.t("app.no_events"))
    st.stop()

ps = ws.settings.posts
has_roads = ws.paths.get("roads") is not None and ws.paths["roads"].exists()
with st.sidebar.form("planner_form"):
    st.markdown(f"**{c.t('planner.parameters')}**")
    p = st.number_input(c.t("planner.p"), min_value=1, max_value=500, value=int(ps.p), step=1, key="pl_p")
    radius = st.number_input(c.t("planner.radius"), min_value=25.0, max_value=5000.0, value=float(ps.radius_m),
                             step=25.0, key="pl_radius")
    f = ui.filter_widgets(ws, ev, "pl", tier=False, container=st, default_window="morning_peak")
    network = st.toggle(c.t("planner.network"), value=False, key="pl_network", disabled=not has_roads,
                        help=c.t("planner.network_help"))
    existing_file = st.file_uploader(c.t("planner.existing"), type=["csv", "geojson", "json"], key="pl_existing",
                                     help=c.t("planner.existing_help"))
    st.form_submit_button(c.t("planner.run"), type="primary", icon=":material/play_arrow:")

existing = None
if existing_file is not None:
    with ui.guard():  # the same checks as the intake (size, type, content) before the file is read
        content = existing_file.getvalue()
        existing = (data.check_upload(ws, existing_file.name, content, types=(".csv", ".geojson", ".json")), content)
with st.spinner(c.t("spinner.planner")):
    plan = data.plan(ws, ev, f.flt, p=p, radius_m=radius, network=network, existing=existing)
s = plan.summary
first, last = ui.data_dates(ev, ws)
st.caption(ui.describe_filter(f.flt, ws, first, last) + " · " + c.t(
    "planner.summary_line", solver=s["solver"], status=s["status"], gap=c.fmt_pct(s["gap"], 2),
    bound=c.fmt_num(s["upper_bound"], 1), candidates=c.fmt_int(s["candidates"]),
    source=c.t(f"planner.candidate_source.{s['candidate_source'].split(':')[0]}"),
    distance=c.t("planner.network_short") if s["network"] else c.t("planner.euclidean_short"),
    seconds=c.fmt_num(s["seconds"], 2)))
for warning in s.get("warnings", []):
    st.warning(warning, icon=":material/warning:")

cols = st.columns(5)
cols[0].metric(c.t("planner.posts"), c.fmt_int(s["p"]), border=True,
               help=c.t("planner.existing_count", n=c.fmt_int(s["existing"])))
cols[1].metric(c.t("planner.coverage"), c.fmt_pct(s["coverage"]), border=True)
cols[2].metric(c.t("planner.covered_demand"), c.fmt_num(s["objective"], 1), border=True,
               help=c.t("planner.total_demand", total=c.fmt_num(s["total_demand"], 1)))
cols[3].metric(c.t("planner.events_in_window"), c.fmt_int(s["events"]), border=True)
cols[4].metric(c.t("planner.posts_for_80"),
               c.fmt_int(s["posts_for_80pct"]) if s["posts_for_80pct"] is not None else c.t("format.missing"),
               border=True)

map_col, curve_col = st.columns([3, 2])
tiles = ui.tile_source(ws)
crs = render.display_crs(tiles)
with map_col:
    m = render.base_map(ws.area.bounds, tiles=tiles, lang=c.lang)
    if ws.grids is not None:
        render.grids_layer(ws.grids, "big", lang=c.lang, crs=crs, labels=True).add_to(m)
    roads = data.roads(ws)
    if roads is not None:
        render.roads_layer(roads, lang=c.lang, crs=crs).add_to(m)
    render.area_layer(ws.area, lang=c.lang, crs=crs).add_to(m)
    render.posts_layer(plan.posts, s["radius_m"], lang=c.lang, crs=crs).add_to(m)
    ui.show_folium(m, key="pl_map", clicks=False)
with curve_col:
    st.subheader(c.t("planner.curve"))
    curve = pd.DataFrame({c.t("planner.curve_p"): plan.curve["p"].to_numpy(),
                          c.t("planner.curve_share"): plan.curve["share"].to_numpy() * 100})
    st.line_chart(curve, x=c.t("planner.curve_p"), y=c.t("planner.curve_share"), height=300)
    st.caption(c.t("planner.curve_note", p=c.fmt_int(s["p"]), share=c.fmt_pct(s["coverage"])))

st.subheader(c.t("planner.table"))
table = deployment_table(plan, c.lang)
window_col = {"zh": DEPLOYMENT_HEADERS_ZH, "en": DEPLOYMENT_HEADERS_EN}[c.lang]["window"]
if window_col in table:
    table[window_col] = c.window(ws.settings, f.flt.window)  # the label, not the code
st.dataframe(table, hide_index=True, width="stretch")
if session.can("export_deployment"):
    details = {"filters": f.flt.describe(), "p": int(s["p"]), "radius_m": float(s["radius_m"]),
               "network": bool(s["network"])}
    ui.download_buttons(table, f"posts_{f.flt.window}_p{s['p']}", (".xlsx", ".csv"), key="pl_dl",
                        what="deployment", details=details, sheet_name=c.t("planner.table"))
    geo_posts = plan.posts.copy()
    session.download_button(c.t("download.geojson"), data=lambda: ui.table_bytes(geo_posts, ".geojson"),
                            file_name=f"posts_{f.flt.window}_p{s['p']}.geojson", mime=ui.MIME[".geojson"],
                            key="pl_dl_geojson", what="posts", details={**details, "rows": int(len(geo_posts))})
