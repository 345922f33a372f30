"""热点地图 Hotspot map — H3 cells by Gi* bin, count, density or emerging class; zones, grids, roads; a cell's detail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from geo.analysis import overview as ov
from geo.app import data, mapview, session, ui
from geo.grid import h3cells
from geo.maps import render
from geo.settings import TIERS

c = ui.cat()
session.require("hotspots")
ws = data.workspace()
ev = data.events(ws)
st.title(c.t("hotspot.title"))
if ev.empty:
    st.info(c.t("app.no_events"))
    st.stop()

f = ui.filter_widgets(ws, ev, "hs")
mode = st.sidebar.radio(c.t("hotspot.mode"), render.MODES, format_func=lambda m: c.t(f"hotspot.mode_{m}"),
                        key="hs_mode", horizontal=True)
# zones (DBSCAN over every event) cost seconds on a district: drawn on request
show = {layer: st.sidebar.checkbox(c.t(f"hotspot.show_{layer}"), value=layer != "zones", key=f"hs_show_{layer}")
        for layer in ("zones", "grids", "roads")}

with st.spinner(c.t("spinner.hotspots")):
    hs = data.hotspots(ws, ev, f.flt, f.tier)
cells = hs.cells
summary = hs.summary
first, last = ui.data_dates(ev, ws)
st.caption(ui.describe_filter(f.flt, ws, first, last))
# notes and messages in a box of their own: their number varies, the map's place on the page must not
# (the browser keeps the open map only while it stays at the same place)
notes = st.container()
map_box = st.container()
hot_n = int((cells["bin"] >= ov.HOT_BIN).sum())
cold_n = int((cells["bin"] <= -ov.HOT_BIN).sum())
with notes:
    ui.show_notes(summary.get("notes"))

if mode == "emerging":
    # the emerging class joins the Gi* cells (same filled study area), so tooltips and the detail still work
    em = None
    with notes, ui.guard(stop=False), st.spinner(c.t("spinner.trends")):
        em = data.emerging(ws, ev, f.flt, f.tier)
    if em is None:
        mode = "gi"
    else:
        cells = cells.assign(pattern=em.cells.set_index("cell")["pattern"].reindex(cells["cell"]).to_numpy())
        es = em.summary
        pattern = em.cells["pattern"].astype(str)
        notes.caption(c.t("hotspot.emerging_caption", slices=es["slices"], first=c.fmt_date(es["first_slice"]),
                          last=c.fmt_date(es["last_slice"]),
                          hot=c.fmt_int(int(pattern.str.endswith("hot spot").sum())),
                          cold=c.fmt_int(int(pattern.str.endswith("cold spot").sum()))))
        with notes:
            ui.show_notes([n for n in es.get("notes", []) if n not in summary.get("notes", [])])

zones = None
if show["zones"]:
    with notes, ui.guard(stop=False), st.spinner(c.t("spinner.zones")):
        zones = data.zones(ws, ev, f.flt, f.tier)

# --- the map: the full main width --------------------------------------------------------------------
ZONE_MAX_SHARE = 0.2
drawn = render.drawn_cells(cells, mode, render.FOLIUM_MAX_CELLS)
clicked_cell: int | None = None
n_events = int(summary["events"])
if n_events == 0:
    notes.info(c.t("mapview.no_events_filter", what=ui.describe_filter(f.flt, ws, first, last)),
               icon=":material/filter_alt_off:")
elif mode == "gi" and not (cells["bin"] != 0).any():
    notes.info(c.t("mapview.empty_gi", n=c.fmt_int(n_events)), icon=":material/info:")
    notes.button(c.t("mapview.switch_counts"), key="hs_to_counts", on_click=lambda: st.session_state.update(
        hs_mode="count"))
if len(drawn) > render.FOLIUM_MAX_CELLS:
    # too many features for SVG: deck.gl draws them on the GPU (no tiles, no GCJ shift needed)
    notes.caption(c.t("hotspot.deck_note", n=c.fmt_int(len(drawn))))
    event = map_box.pydeck_chart(render.hotspot_deck(cells, mode, lang=c.lang, area=ws.area,
                                                    max_cells=render.FOLIUM_MAX_CELLS),
                                 on_select="rerun", selection_mode="single-object", key="hs_deck",
                                 height=mapview.MAP_HEIGHT)
    picked = (event.selection.objects.get("cells") if event and event.selection else None) or []
    if picked:
        clicked_cell = int(h3cells.hex_to_cells(np.array([picked[0]["h3"]]))[0])
else:
    m, crs = mapview.base_map(ws)
    # the cells' layer is built once per analysis, colouring and language (a click or a language round trip
    # reuses it); the base map stays open in the browser and only the overlays are swapped
    layer = mapview.cached_overlay("cells", (data.key(ws), f.flt, f.tier, mode, c.lang, crs),
                                   lambda: render.cells_layer(cells, mode, lang=c.lang, crs=crs)[0])
    overlays = [layer]
    if zones is not None and len(zones):
        # a zone spanning a fifth of the district says the zone parameters are too loose for this
        # density; drawing it would only hide the cells
        area_km2 = float(cells["area_share"].to_numpy() @ h3cells.cell_areas_km2(cells["cell"].to_numpy()))
        too_big = zones["area_km2"].to_numpy() > ZONE_MAX_SHARE * area_km2 if "area_km2" in zones else \
            np.zeros(len(zones), dtype=bool)
        if too_big.any():
            notes.info(c.t("hotspot.zones_too_big", n=int(too_big.sum()), share=c.fmt_pct(ZONE_MAX_SHARE, 0)))
        if (~too_big).any():
            overlays.append(render.zones_layer(zones[~too_big], lang=c.lang, crs=crs,
                                               category_labels=c.categories(ws.settings)))
    if show["grids"] and ws.grids is not None:
        overlays.append(mapview.outlines(ws, f.tier, crs))
    with map_box:
        out = mapview.show(ws, m, overlays, key="hs_map")
    click = mapview.fresh_click(out, "hs_map", (f.tier, f.flt, mode, tuple(show.values())))
    if click is not None:
        lon, lat = render.points_from_display(np.array([click[0]]), np.array([click[1]]), crs)
        clicked_cell = int(h3cells.cells_for_points(lon, lat, int(summary["res"]))[0])
# the legend under the map: inside it, it hid the district's south-east cells and clipped tooltips
st.html(render.legend_html(mode, lang=c.lang, breaks=render.cell_fill(cells, mode)[1],
                           classes=drawn["pattern"].unique() if mode == "emerging" else None))

cols = st.columns(5)
cols[0].metric(c.t("hotspot.events"), c.fmt_int(summary["events"]), border=True)
cols[1].metric(c.t("hotspot.cells"), c.fmt_int(summary["cells"]), border=True)
cols[2].metric(c.t("hotspot.cells_with_events"), c.fmt_int(int((cells["count"] > 0).sum())), border=True)
cols[3].metric(c.t("hotspot.hot_cells"), c.fmt_int(hot_n), border=True, help=c.t("mapview.hot_help"))
cols[4].metric(c.t("hotspot.cold_cells"), c.fmt_int(cold_n), border=True, help=c.t("mapview.cold_help"))

# --- the selected cell ---------------------------------------------------------------------------------
ranked = cells.sort_values(["bin", "count"], ascending=False, kind="stable")
ranked = ranked[ranked["count"] > 0]
options = ranked["cell"].head(200).tolist()
known = set(cells["cell"].tolist())
# one selection per analysis: a new tier or filter starts from its hottest cell (a shared key would
# leave the browser showing the previous analysis' cell)
cell_key = f"hs_cell_{f.tier}_{hash(f.flt) & 0xFFFFFFFF:08x}"
if clicked_cell is not None and clicked_cell != st.session_state.get("hs_last_click"):
    st.session_state["hs_last_click"] = clicked_cell  # a new click selects its cell once
    if clicked_cell in known:
        st.session_state[cell_key] = clicked_cell
selected = st.session_state.get(cell_key)
if selected in known and selected not in options:
    options.insert(0, selected)

by_cell = cells.set_index("cell")
bin_labels = render.bin_labels(c)
rank_of = {cell: i + 1 for i, cell in enumerate(ranked["cell"].tolist())}


def place(x: int) -> tuple[str, str]:
    """The cell's official grid and street (a leader reads places, not hex ids)."""
    grid = by_cell.at[x, "grid_name"] if "grid_name" in by_cell else None
    street = by_cell.at[x, "street_name"] if "street_name" in by_cell else None
    return (grid if isinstance(grid, str) and grid else c.t("mapview.outside_grids"),
            street if isinstance(street, str) and street else "")


def option_labels(cells_shown: list[int]) -> dict[int, str]:
    """The picker's label of each offered cell, made in one pass (the picker asks for each label)."""
    rows = by_cell.loc[cells_shown]
    grids = rows["grid_name"].tolist() if "grid_name" in rows else [None] * len(rows)
    streets = rows["street_name"].tolist() if "street_name" in rows else [None] * len(rows)
    return {x: c.t("mapview.cell_option", rank=rank_of.get(x, "–"),
                   place=" · ".join(filter(None, (g if isinstance(g, str) and g else c.t("mapview.outside_grids"),
                                                  s if isinstance(s, str) and s else ""))),
                   count=c.fmt_int(n), bin=bin_labels[int(b)])
            for x, g, s, n, b in zip(cells_shown, grids, streets, rows["count"].tolist(), rows["bin"].tolist(),
                                     strict=True)}


st.subheader(c.t("hotspot.cell_detail"))
if not options:
    st.info(c.t("hotspot.no_cells"))
else:
    labels = option_labels(options)
    cell = st.selectbox(c.t("hotspot.pick_cell"), options, key=cell_key, placeholder=c.t("mapview.choose"),
                        format_func=labels.__getitem__, help=c.t("hotspot.pick_help"))
    row = by_cell.loc[cell]
    grid, street = place(cell)
    st.markdown(c.t("mapview.cell_title", grid=grid, street=street or c.t("format.missing"),
                    count=c.fmt_int(row["count"]), density=c.fmt_num(row["density"], 1),
                    bin=bin_labels[int(row["bin"])]))
    if isinstance(row.get("unit"), str):
        st.caption(f"{c.t('map.tip.unit')}: {row['unit']}")
    if "cell_expected" in row:
        # the cell's own count against the area rate (which corner), beside the neighbourhood Gi* class
        st.markdown(c.t("hotspot.cell_own", count=c.fmt_int(row["count"]), expected=c.fmt_num(row["cell_expected"], 1),
                        ratio=c.fmt_num(row["cell_ratio"], 1) if pd.notna(row["cell_ratio"]) else "–",
                        q=c.fmt_num(row["cell_q"], 3),
                        verdict=c.t("hotspot.cell_own_yes") if bool(row["cell_hot"]) else c.t("hotspot.cell_own_no")))
    detail = ov.cell_detail(data.filtered(ws, ev, f.flt), ws.settings, f.tier, cell)
    by_cat = detail["by_category"].copy()
    by_cat["category"] = by_cat["category"].map(lambda code: c.category(ws.settings, code))
    by_cat = by_cat.sort_values("events", ascending=False)
    t1, t2, t3 = st.columns([2, 2, 3])
    with t1:
        st.markdown(f"**{c.t('hotspot.by_category')}**")
        # a table sorted by count: every category is labelled (a bar chart labelled half of them)
        st.dataframe(by_cat[["category", "events"]].rename(columns={"category": c.t("event.category"),
                                                                    "events": c.t("hotspot.events")}),
                     hide_index=True, width="stretch", height=260,
                     column_config={c.t("hotspot.events"): st.column_config.ProgressColumn(
                         format="%d", min_value=0, max_value=int(by_cat["events"].max() or 1))})
    with t2:
        st.markdown(f"**{c.t('hotspot.by_hour')}**")
        st.bar_chart(detail["by_hour"].set_index("hour")["events"], height=260,
                     x_label=c.t("hotspot.hour"), y_label=c.t("hotspot.events"))
    with t3:
        st.markdown(f"**{c.t('hotspot.latest')}**")
        latest = detail["latest"].copy()
        latest["occurred_at"] = latest["occurred_at"].dt.tz_convert(ws.settings.timezone).dt.tz_localize(None)
        latest["source"] = latest["source"].map(lambda s: c.t(f"source.{s}"))
        latest["category"] = latest["category"].map(lambda code: c.category(ws.settings, code))
        latest["is_closed"] = latest["is_closed"].map(
            lambda v: c.t("problem_status.closed") if v else c.t("problem_status.open"))
        st.dataframe(ui.localised_frame(latest.fillna(""), "event"), hide_index=True, width="stretch", height=260,
                     column_config={c.t("event.occurred_at"): st.column_config.DatetimeColumn(
                         format="YYYY-MM-DD HH:mm")})

# --- analysis details, tables and downloads -----------------------------------------------------------------
with st.expander(c.t("mapview.details")):
    p = summary["parameters"]
    st.caption(c.t("hotspot.parameters", tier=c.t(f"tier.{f.tier}"), res=summary["res"], k=p["k"],
                   alpha=p["alpha"], fdr=c.t("common.yes") if p["fdr"] else c.t("common.no"),
                   inference=c.t(f"mapview.inference_{p['inference']}") if c.has(f"mapview.inference_{p['inference']}")
                   else p["inference"]))
    st.caption(" · ".join(f"{c.t(f'legend.bin.hot{b}')}: {summary['hot'][str(b)]}" for b in (3, 2, 1)) + " · "
               + " · ".join(f"{c.t(f'legend.bin.cold{b}')}: {summary['cold'][str(b)]}" for b in (3, 2, 1)))
with st.expander(c.t("hotspot.table")):
    table = pd.DataFrame(cells.drop(columns="geometry"))
    table = table[table["count"] > 0].sort_values("hot_rank" if "hot_rank" in table else "gi_z",
                                                  ascending="hot_rank" in table)
    table["bin"] = table["bin"].map(lambda b: bin_labels[int(b)])
    cols_shown = ["hot_rank", "grid_name", "street_name", "count", "density", "per_day", "bin", "cell_expected",
                  "cell_ratio", "cell_q", "cell_hot", "gi_z", "p_value", "p_fdr", "grid_id", "h3"]
    cols_shown = [col for col in cols_shown if col in table]
    st.dataframe(ui.localised_frame(table.fillna({"grid_name": "", "street_name": "", "grid_id": ""}), "cell",
                                    cols_shown), hide_index=True, width="stretch",
                 column_config={c.t("cell.density"): st.column_config.NumberColumn(format="%.1f"),
                                c.t("cell.per_day"): st.column_config.NumberColumn(format="%.2f"),
                                c.t("cell.cell_expected"): st.column_config.NumberColumn(format="%.1f"),
                                c.t("cell.cell_ratio"): st.column_config.NumberColumn(format="%.1f"),
                                c.t("cell.cell_q"): st.column_config.NumberColumn(format="%.4f"),
                                c.t("cell.gi_z"): st.column_config.NumberColumn(format="%.2f"),
                                c.t("cell.p_value"): st.column_config.NumberColumn(format="%.4f"),
                                c.t("cell.p_fdr"): st.column_config.NumberColumn(format="%.4f")})
    if session.can("export_aggregates"):
        # the download speaks the page's language: headers and hotspot classes from the catalogue
        export = cells.copy()
        export["bin"] = export["bin"].map(lambda b: bin_labels[int(b)])
        if "pattern" in export:
            export["pattern"] = export["pattern"].map(
                lambda v: c.t(render.emerging_key(v)) if isinstance(v, str) else "")
        keep = [col for col in export.columns if col == "geometry" or c.has(f"cell.{col}")]
        export = export[keep].rename(columns={col: c.t(f"cell.{col}") for col in keep if col != "geometry"})
        ui.download_buttons(export, f"hotspots_{f.tier}_{f.flt.window}", (".geojson", ".csv"), key="hs_dl",
                            what="hotspot_cells", details={"tier": f.tier, "filters": f.flt.describe()})

# the other tiers' cells and grid crosswalks, and their analyses of this filter, built in the background
# while the page is read: a switch of tier then finds its analysis ready
data.prefetch_tiers(ws)
data.prefetch_hotspots(ws, ev, f.flt, [t for t in TIERS if t != f.tier])
