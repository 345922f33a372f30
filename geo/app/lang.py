"""The session's language: the 中文 / English switch and the message catalogue of the running page.

Kept apart from :mod:`geo.app.ui` so that :mod:`geo.app.session` (the login gate) and the widgets
both read it without importing each other.
"""

from __future__ import annotations

import streamlit as st

from geo.i18n import LANGS, Catalogue, catalogue, check_lang

LANG_KEY = "lang"


def current_lang() -> str:
    """The session's language: the switch, else ``?lang=`` in the URL, else Chinese."""
    # .get, not "in": the state has no __contains__, so "in" builds the whole state as a dict (called on every
    # catalogue lookup, a tenth of a second per page run)
    lang = st.session_state.get(LANG_KEY)
    if lang is None:
        try:
            lang = check_lang(st.query_params.get("lang"))
        except ValueError:
            lang = check_lang(None)
        st.session_state[LANG_KEY] = lang
    return str(lang)


def cat() -> Catalogue:
    return catalogue(current_lang())


def language_switch() -> Catalogue:
    """The sidebar language switch (中文 / English); returns the chosen catalogue."""
    current_lang()
    names = {code: catalogue(code).t("meta.name") for code in LANGS}
    st.sidebar.radio("语言 · Language", LANGS, format_func=names.__getitem__, key=LANG_KEY, horizontal=True)
    return cat()
