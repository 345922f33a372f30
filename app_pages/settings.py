"""设置 Settings (admin) — a safe subset of the workspace settings: hot spots, posts, session time-out.

Changes are validated and written by :func:`geo.store.workspace.update_settings`, which audits them
(``settings_change``); everything else stays in ``gridwatch.toml`` for the command line.
"""

from __future__ import annotations

import streamlit as st

from geo.app import data, session, ui
from geo.store.workspace import update_settings

FLASH = "st_flash"

c = ui.cat()
me = session.require("settings")
ws = data.workspace()
st.title(c.t("settings.title"))
st.caption(c.t("settings.intro"))
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

s = ws.settings
with st.form("st_form"):
    st.subheader(c.t("settings.hotspots"))
    a, b = st.columns(2)
    alpha = a.number_input(c.t("settings.alpha"), min_value=0.001, max_value=0.2, value=float(s.hotspots.alpha),
                           step=0.005, format="%.3f", key="st_alpha", help=c.t("settings.alpha_help"))
    k = b.number_input(c.t("settings.k"), min_value=1, max_value=10, value=int(s.hotspots.k), step=1, key="st_k",
                       help=c.t("settings.k_help"))
    st.subheader(c.t("settings.posts"))
    a, b = st.columns(2)
    p = a.number_input(c.t("settings.p"), min_value=1, max_value=500, value=int(s.posts.p), step=1, key="st_p")
    radius = b.number_input(c.t("settings.radius"), min_value=25.0, max_value=5000.0, value=float(s.posts.radius_m),
                            step=25.0, key="st_radius")
    st.subheader(c.t("settings.access"))
    timeout = st.number_input(c.t("settings.timeout"), min_value=1.0, max_value=720.0,
                              value=float(s.access.session_timeout_minutes), step=5.0, key="st_timeout",
                              help=c.t("settings.timeout_help"))
    save = st.form_submit_button(c.t("settings.save"), type="primary", key="st_save", icon=":material/save:")

if save:
    wanted = {
        "hotspots": {"alpha": float(alpha), "k": int(k)},
        "posts": {"p": int(p), "radius_m": float(radius)},
        "access": {"session_timeout_minutes": float(timeout)},
    }
    # whole sections as plain dicts, so update_settings validates every changed value
    changes = {section: {**getattr(s, section).model_dump(), **values} for section, values in wanted.items()
               if any(getattr(getattr(s, section), k_) != v for k_, v in values.items())}
    if not changes:
        st.info(c.t("settings.unchanged"))
    else:
        with ui.guard(stop=False):
            update_settings(ws, actor=me.username, **changes)
            st.session_state[FLASH] = c.t("settings.saved", sections="、".join(c.t(f"settings.{k_}")
                                                                                 for k_ in changes))
            st.rerun()
