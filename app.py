"""gridwatch — the Streamlit service: `make run`, or `streamlit run app.py`.

Thin on purpose: the language switch, the workspace (``GRIDWATCH_WORKSPACE``
or the shipped sample, prepared on first start) and the four pages.  Pages
live in ``app_pages/`` (not ``pages/``: that name would turn on Streamlit's
old automatic page list); cached library calls and shared widgets in ``geo/app``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.app import data, ui

st.set_page_config(page_title="gridwatch", page_icon=str(Path(__file__).parent / "static" / "favicon.png"), layout="wide")
c = ui.language_switch()

with ui.guard():
    ws = data.workspace()
    if data.is_sample(ws) and data.store_is_empty(ws):
        bar = st.progress(0.0, text=c.t("app.preparing_sample"))
        data.prepare_sample(lambda stage, f: bar.progress(min(max(f, 0.0), 1.0),
                                                          text=f"{c.t('app.preparing_sample')} {stage}"))
        bar.empty()

pages = [
    # the default page is served at "/" (Streamlit ignores a url_path there)
    st.Page("app_pages/overview.py", title=c.t("page.overview"), icon=":material/dashboard:", default=True),
    st.Page("app_pages/hotspots.py", title=c.t("page.hotspots"), icon=":material/map:", url_path="hotspots"),
    st.Page("app_pages/planner.py", title=c.t("page.planner"), icon=":material/place:", url_path="planner"),
    st.Page("app_pages/intake.py", title=c.t("page.intake"), icon=":material/upload_file:", url_path="intake"),
]
nav = st.navigation(pages)
st.sidebar.caption(c.t("app.workspace", name=ws.settings.name))
with ui.guard():
    nav.run()
