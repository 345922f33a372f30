"""用户管理 Users (admin) — list, add, change role, disable/enable, reset password, remove.

Every change goes through :mod:`geo.access.auth`, which checks it (password rules, the last admin) and audits it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.access import auth
from geo.app import data, session, ui

FLASH = "us_flash"

c = ui.cat()
me = session.require("users")
ws = data.workspace()
st.title(c.t("users.title"))
st.caption(c.t("users.intro"))
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")


def done(message: str) -> None:
    """Show ``message`` after the rerun that redraws the table."""
    st.session_state[FLASH] = message
    st.rerun()


def role_label(role: str) -> str:
    return c.t(f"role.{role}")


users = auth.list_users(ws)
table = pd.DataFrame({
    "username": [u.username for u in users],
    "display_name": [u.display_name for u in users],
    "role": [role_label(u.role) for u in users],
    "email": [u.email for u in users],
    "status": [c.t("users.disabled") if u.disabled else c.t("users.locked") if u.locked_until else
               c.t("users.active") for u in users],
    "last_login": [u.last_login.replace("T", " ")[:16] for u in users],
    "created_at": [u.created_at[:10] for u in users],
})
st.dataframe(ui.localised_frame(table, "users.col"), hide_index=True, width="stretch")

# --- add ---------------------------------------------------------------------------------------------
with st.expander(c.t("users.add"), icon=":material/person_add:"):
    with st.form("us_add", clear_on_submit=True):
        a, b = st.columns(2)
        name = a.text_input(c.t("users.col.username"), key="us_add_name", max_chars=32)
        role = b.selectbox(c.t("users.col.role"), auth.ROLES, format_func=role_label, key="us_add_role", placeholder=c.t("mapview.choose"))
        display_name = a.text_input(c.t("users.col.display_name"), key="us_add_display")
        email = b.text_input(c.t("users.col.email"), key="us_add_email", help=c.t("users.email_help"))
        pw1 = a.text_input(c.t("users.password"), type="password", key="us_add_pw",
                           help=c.t("users.password_help", n=ws.settings.access.min_password_length))
        pw2 = b.text_input(c.t("users.password_again"), type="password", key="us_add_pw2")
        add = st.form_submit_button(c.t("users.add_go"), type="primary", key="us_add_go")
    if add:
        if pw1 != pw2:
            st.error(c.t("users.password_mismatch"))
        else:
            with ui.guard(stop=False):
                auth.add_user(ws, name.strip(), role, pw1, display_name=display_name.strip(), email=email.strip(),
                              actor=me.username)
                done(c.t("users.added", name=name.strip(), role=role_label(role)))

# --- change ------------------------------------------------------------------------------------------
if users:
    st.subheader(c.t("users.change"))
    by_name = {u.username: u for u in users}
    target = st.selectbox(c.t("users.pick"), list(by_name), key="us_pick", placeholder=c.t("mapview.choose"),
                          format_func=lambda n: f"{n} · {role_label(by_name[n].role)}"
                          + (f" · {c.t('users.disabled')}" if by_name[n].disabled else ""))
    u = by_name[target]
    self_edit = target == me.username
    if self_edit:
        st.caption(c.t("users.self_note"))
    col_role, col_state, col_pw, col_rm = st.columns(4)
    with col_role:
        new_role = st.selectbox(c.t("users.new_role"), auth.ROLES, index=auth.ROLES.index(u.role),
                                format_func=role_label, key=f"us_role_{target}", placeholder=c.t("mapview.choose"), disabled=self_edit)
        if st.button(c.t("users.role_go"), key="us_role_go", disabled=self_edit or new_role == u.role):
            with ui.guard(stop=False):
                auth.set_role(ws, target, new_role, actor=me.username)
                done(c.t("users.role_changed", name=target, role=role_label(new_role)))
    with col_state:
        st.markdown(c.t("users.status_now", status=c.t("users.disabled") if u.disabled else c.t("users.active")))
        if st.button(c.t("users.enable_go") if u.disabled else c.t("users.disable_go"), key="us_state_go",
                     disabled=self_edit):
            with ui.guard(stop=False):
                auth.set_disabled(ws, target, not u.disabled, actor=me.username)
                done(c.t("users.enabled" if u.disabled else "users.disabled_done", name=target))
        if u.locked_until and st.button(c.t("users.unlock_go"), key="us_unlock_go"):
            with ui.guard(stop=False):
                auth.unlock_user(ws, target, actor=me.username)
                done(c.t("users.unlocked", name=target))
    with col_pw, st.form("us_pw", clear_on_submit=True):
        p1 = st.text_input(c.t("users.new_password"), type="password", key="us_pw1")
        p2 = st.text_input(c.t("users.password_again"), type="password", key="us_pw2")
        reset = st.form_submit_button(c.t("users.password_go"), key="us_pw_go")
    if reset:
        if p1 != p2:
            st.error(c.t("users.password_mismatch"))
        else:
            with ui.guard(stop=False):
                auth.set_password(ws, target, p1, actor=me.username)
                done(c.t("users.password_set", name=target))
    with col_rm:
        sure = st.checkbox(c.t("users.remove_confirm", name=target), key=f"us_rm_sure_{target}", disabled=self_edit)
        if st.button(c.t("users.remove_go"), key="us_remove_go", type="primary", disabled=self_edit or not sure):
            with ui.guard(stop=False):
                auth.remove_user(ws, target, actor=me.username)
                st.session_state.pop("us_pick", None)
                done(c.t("users.removed", name=target))
