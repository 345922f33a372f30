"""岗位规划 Post planner — where to stand p posts to cover the most weighted violations in a shift."""

from __future__ import annotations

import altair as alt
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from geo.app import data, mapview, session, ui
from geo.maps import render

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
                             step=25.0, format="%.0f", key="pl_radius")  # whole metres
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
first, last = ui.data_dates(ev, ws)
window_name = c.window(ws.settings, f.flt.window)
if data.filtered(ws, ev, f.flt).empty:
    # nothing to cover: say why and what to do instead of a solver error
    st.warning(c.t("mapview.no_plan", reason=c.t("mapview.no_events_filter",
                                                 what=ui.describe_filter(f.flt, ws, first, last))),
               icon=":material/filter_alt_off:")
    st.info(c.t("mapview.no_plan_next"), icon=":material/lightbulb:")
    st.stop()
with st.spinner(c.t("spinner.planner")):
    plan = data.plan(ws, ev, f.flt, p=p, radius_m=radius, network=network, existing=existing)
s = plan.summary
st.caption(ui.describe_filter(f.flt, ws, first, last) + " · " + (
    c.t("planner.network_short") if s["network"] else c.t("planner.euclidean_short")))
# warnings in a box of their own: their number varies, the map's place on the page must not
# (the browser keeps the open map only while it stays at the same place)
notes = st.container()
for warning in s.get("warnings", []):
    notes.warning(warning, icon=":material/warning:")

# --- the map: demand of the window under the posts ---------------------------------------------------------
posts = plan.posts.reset_index(drop=True)
m, crs = mapview.base_map(ws)
demand = data.demand(ws, ev, f.flt, "small")  # counts only: Gi* is the hotspot page's, not needed here
# the demand layer is built once per window and filter (a new p or radius reuses it)
demand_layer = mapview.cached_overlay(
    "demand", (data.key(ws), f.flt, c.lang, crs),
    lambda: render.cells_layer(demand, "count", lang=c.lang, crs=crs, opacity=0.5,
                               name=c.t("mapview.demand_layer", window=window_name))[0])
overlays = [demand_layer]
if ws.grids is not None:
    overlays.append(mapview.outlines(ws, "big", crs))
reach = None
if s["network"] and data.roads(ws) is not None:
    reach = data.catchments(ws, posts["lon"].to_numpy(), posts["lat"].to_numpy(), s["radius_m"])


def post_tip(r: pd.Series) -> str:
    """What a post covers, in the page's language (its tooltip, and the note under the map when clicked)."""
    return c.t("mapview.post_tip", rank=int(r["rank"]), name=r["name"],
               kind=c.t("planner.existing_post") if r["existing"] else c.t("planner.new_post"),
               street=r["street_name"] if isinstance(r.get("street_name"), str) else "",
               covered=c.fmt_int(r["covered"]), gain=c.fmt_int(r["marginal_gain"]),
               share=c.fmt_pct(r["cumulative_share"]))


tips = [post_tip(r) for _, r in posts.iterrows()]
overlays.append(render.posts_layer(posts, s["radius_m"], lang=c.lang, crs=crs, catchments=reach, tips=tips))
out = mapview.show(ws, m, overlays, key="pl_map")
st.html(render.legend_html("count", lang=c.lang, breaks=render.cell_fill(demand, "count")[1]))
st.caption(c.t("mapview.demand_legend", window=window_name) + " · " + (
    c.t("mapview.catchment", radius=c.fmt_int(s["radius_m"])) if reach is not None
    else c.t("mapview.circle", radius=c.fmt_int(s["radius_m"]))))

# a clicked post: what it covers (a click on an earlier plan's map says nothing about this plan)
click = mapview.fresh_click(out, "pl_map", (f.flt, int(s["p"]), float(s["radius_m"]), bool(s["network"]),
                                            existing[1] if existing else None))
if click is not None and len(posts):
    lon, lat = render.points_from_display(np.array([click[0]]), np.array([click[1]]), crs)
    d = np.hypot((posts["lon"].to_numpy() - lon[0]) * np.cos(np.radians(lat[0])), posts["lat"].to_numpy() - lat[0])
    if d.min() < 0.0008:  # within ~80 m of a post marker
        st.info(tips[int(d.argmin())].replace("<br>", " · "), icon=":material/place:")

cols = st.columns(5)
cols[0].metric(c.t("planner.posts"), c.fmt_int(s["p"]), border=True,
               help=c.t("planner.existing_count", n=c.fmt_int(s["existing"])))
cols[1].metric(c.t("planner.coverage"), c.fmt_pct(s["coverage"]), border=True)
cols[2].metric(c.t("planner.covered_demand"), c.fmt_int(s["objective"]), border=True,
               help=c.t("planner.total_demand", total=c.fmt_int(s["total_demand"])))
cols[3].metric(c.t("planner.events_in_window"), c.fmt_int(s["events"]), border=True)
cols[4].metric(c.t("planner.posts_for_80"),
               c.fmt_int(s["posts_for_80pct"]) if s["posts_for_80pct"] is not None else c.t("format.missing"),
               border=True)

# --- deployment table and coverage curve -------------------------------------------------------------------
table_col, curve_col = st.columns([3, 2])
with table_col:
    st.subheader(c.t("planner.table"))
    # what a brigade reads first: where, which street, what it adds; one coordinate pair (GCJ-02, 6 decimals)
    shown = pd.DataFrame({
        "rank": posts["rank"].astype(int), "name": posts["name"].fillna(""),
        "street_name": posts["street_name"].fillna("") if "street_name" in posts else "",
        "marginal_gain": posts["marginal_gain"].round(0).astype(int),
        "cumulative_share": posts["cumulative_share"] * 100,
        "covered": posts["covered"].round(0).astype(int),
        "existing": np.where(posts["existing"], c.t("common.yes"), c.t("common.no")),
        "grid_name": posts["grid_name"].fillna("") if "grid_name" in posts else "",
        "lon_gcj": posts["lon_gcj"].map(lambda v: f"{v:.6f}"), "lat_gcj": posts["lat_gcj"].map(lambda v: f"{v:.6f}"),
        "window": window_name,
    })
    st.dataframe(ui.localised_frame(shown.drop(columns="window"), "dep"), hide_index=True, width="stretch",
                 column_config={c.t("dep.cumulative_share"): st.column_config.NumberColumn(format="%.1f%%"),
                                c.t("dep.marginal_gain"): st.column_config.NumberColumn(format="%d"),
                                c.t("dep.covered"): st.column_config.NumberColumn(format="%d")})
    st.caption(c.t("mapview.table_note"))
with curve_col:
    st.subheader(c.t("planner.curve"))
    curve = plan.curve.assign(share=plan.curve["share"] * 100)
    x_title, y_title = c.t("planner.curve_p"), c.t("planner.curve_share")
    line = alt.Chart(curve).mark_line(color="#1f78b4").encode(
        x=alt.X("p:Q", title=x_title), y=alt.Y("share:Q", title=y_title, scale=alt.Scale(domain=[0, 100])))
    marks = pd.DataFrame({"p": [int(s["p"])], "share": [s["coverage"] * 100],
                          "label": [c.t("mapview.curve_current", p=c.fmt_int(s["p"]))]})
    point = alt.Chart(marks).mark_point(color="#d62f27", size=90, filled=True).encode(x="p:Q", y="share:Q")
    text = alt.Chart(marks).mark_text(align="left", dx=8, dy=-8, color="#d62f27").encode(
        x="p:Q", y="share:Q", text="label:N")
    target = alt.Chart(pd.DataFrame({"share": [80.0], "label": [c.t("mapview.curve_target")]})).mark_rule(
        strokeDash=[4, 3], color="#666").encode(y="share:Q")
    st.altair_chart(line + target + point + text, width="stretch")
    if s["posts_for_80pct"] is not None:
        st.caption(c.t("mapview.curve_reached", n=c.fmt_int(s["posts_for_80pct"])) + " "
                   + c.t("planner.curve_note", p=c.fmt_int(s["p"]), share=c.fmt_pct(s["coverage"])))
    else:
        st.warning(c.t("mapview.curve_unreachable", n=c.fmt_int(s["candidates"]),
                       share=c.fmt_pct(float(plan.curve["share"].max()))), icon=":material/info:")

with st.expander(c.t("mapview.details")):
    st.caption(c.t("planner.summary_line", solver=s["solver"], status=s["status"], gap=c.fmt_pct(s["gap"], 2),
                   bound=c.fmt_num(s["upper_bound"], 1), candidates=c.fmt_int(s["candidates"]),
                   source=c.t(f"planner.candidate_source.{s['candidate_source'].split(':')[0]}"),
                   distance=c.t("planner.network_short") if s["network"] else c.t("planner.euclidean_short"),
                   seconds=c.fmt_num(s["seconds"], 2)))

if session.can("export_deployment"):
    # downloads in the page's language, both coordinate pairs (GCJ-02 for Amap/Tencent, WGS84 for GPS)
    export = shown.assign(lon=posts["lon"].map(lambda v: f"{v:.6f}"), lat=posts["lat"].map(lambda v: f"{v:.6f}"),
                          cumulative_share=shown["cumulative_share"].round(1))
    export = ui.localised_frame(export, "dep", ["rank", "name", "street_name", "marginal_gain", "cumulative_share",
                                                "covered", "existing", "grid_name", "window", "lon_gcj", "lat_gcj",
                                                "lon", "lat"])
    details = {"filters": f.flt.describe(), "p": int(s["p"]), "radius_m": float(s["radius_m"]),
               "network": bool(s["network"])}
    ui.download_buttons(export, f"posts_{f.flt.window}_p{s['p']}", (".xlsx", ".csv"), key="pl_dl",
                        what="deployment", details=details, sheet_name=c.t("planner.table"))
    geo_posts = gpd.GeoDataFrame(export, geometry=shapely.points(posts["lon"], posts["lat"]), crs="EPSG:4326")
    session.download_button(c.t("download.geojson"), data=lambda: ui.table_bytes(geo_posts, ".geojson"),
                            file_name=f"posts_{f.flt.window}_p{s['p']}.geojson", mime=ui.MIME[".geojson"],
                            key="pl_dl_geojson", what="posts", details={**details, "rows": int(len(geo_posts))})
