"""gridwatch — the Streamlit service: `make run`, or `streamlit run app.py`.

Thin on purpose: the language switch, the workspace (``GRIDWATCH_WORKSPACE``
or the shipped sample, prepared on first start), the login gate and the pages
of the user's role (:mod:`geo.app.session`, roles in :mod:`geo.access.auth`).  Pages
live in ``app_pages/`` (not ``pages/``: that name would turn on Streamlit's
old automatic page list); cached library calls and shared widgets in ``geo/app``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.app import data, lang, session, ui

st.set_page_config(page_title="gridwatch", page_icon=str(Path(__file__).parent / "static" / "favicon.png"), layout="wide")
c = lang.language_switch()
ui.localise_uploader()  # Streamlit's own uploader texts in the chosen language

with ui.guard():
    ws = data.workspace()
    if data.is_sample(ws) and data.store_is_empty(ws):
        bar = st.progress(0.0, text=c.t("app.preparing_sample"))
        data.prepare_sample(lambda stage, f: bar.progress(min(max(f, 0.0), 1.0),
                                                          text=f"{c.t('app.preparing_sample')} {stage}"))
        bar.empty()

with ui.guard():
    user = session.gate(ws)  # the login form, and nothing else, until someone logs in
nav = st.navigation(session.pages(user.role))
session.sidebar(ws, user)
st.sidebar.caption(c.t("app.workspace", name=ws.settings.name))
with ui.guard():
    nav.run()
