"""审计日志 Audit log (admin) — who did what and when; the hash chain's verification; CSV download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geo.access import auth
from geo.app import data, session, ui
from geo.store import audit

c = ui.cat()
session.require("audit")
ws = data.workspace()
st.title(c.t("audit.title"))

check = audit.verify_audit(ws)
if check.ok:
    st.success(c.t("audit.chain_ok", rows=c.fmt_int(check.rows), anchored=c.fmt_int(check.anchored_seq)),
               icon=":material/verified:")
elif check.first_bad_seq is not None:
    st.error(c.t("audit.chain_broken", seq=check.first_bad_seq), icon=":material/gpp_bad:")
else:
    st.error(c.t("audit.anchor_broken"), icon=":material/gpp_bad:")

a, b, d, e = st.columns(4)
action = a.selectbox(c.t("audit.action"), ("", *audit.ACTIONS), key="au_action", placeholder=c.t("mapview.choose"),
                     format_func=lambda x: c.t(f"audit_action.{x}") if x else c.t("filter.all"))
actor = b.text_input(c.t("audit.actor"), key="au_actor", placeholder=c.t("filter.all"))
since = d.date_input(c.t("audit.since"), value=None, key="au_since", format="YYYY-MM-DD")
limit = int(e.number_input(c.t("audit.limit"), min_value=10, max_value=100_000, value=500, step=100, key="au_limit"))

rows = audit.read_audit(ws, since=since, action=action or None, actor=actor.strip() or None, limit=limit)
rows = rows.iloc[::-1]  # newest first
table = pd.DataFrame({
    "seq": rows["seq"],
    "at": rows["at"].dt.tz_convert(ws.settings.timezone).dt.tz_localize(None),
    "actor": rows["actor"],
    "role": rows["role"].map(lambda r: c.t(f"role.{r}") if r in auth.ROLES else (r or "")),
    "action": rows["action"].map(lambda x: c.t(f"audit_action.{x}") if c.has(f"audit_action.{x}") else x),
    "target": rows["target"],
    "details": rows["details"],
})
st.caption(c.t("audit.count", n=c.fmt_int(len(table))))
st.dataframe(ui.localised_frame(table, "audit.col"), hide_index=True, width="stretch", height=480,
             column_config={c.t("audit.col.at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
ui.download_buttons(ui.localised_frame(table, "audit.col"), f"audit_{pd.Timestamp.now(tz=ws.settings.timezone):%Y%m%d}",
                    (".csv",), key="au_dl", what="audit",
                    details={"action": action or None, "actor": actor.strip() or None,
                             "since": since.isoformat() if since else None, "limit": limit})
