"""数据导入 Data intake (admin) — upload an export, see and change the column mapping, dry-run, ingest, reconcile the counts.

Every upload is checked by :func:`geo.access.uploads.check_upload` (size, type, macros, zip bombs, content
against suffix) before a byte is written, and is then kept inside the workspace (``uploads/``, mode 0600 in
0700 folders) under its sanitised name until it is ingested (``access.keep_uploads_days`` keeps it longer).
The preview masks personal data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from geo.app import data, session, ui
from geo.settings import SOURCES

c = ui.cat()
user = session.require("intake")
ws = data.workspace()
st.title(c.t("intake.title"))
st.caption(c.t("intake.intro"))

CRS_CHOICES = ("auto", "WGS84", "GCJ02", "BD09", "CGCS2000", "EPSG")

left, right = st.columns([3, 2])
with left:
    accepted = [t.lstrip(".") for t in ws.settings.access.upload_types]
    upload = st.file_uploader(c.t("intake.file"), type=accepted, key="in_file",
                              help=c.t("intake.file_help", limit=f"{ws.settings.access.upload_max_mb:g}",
                                       types=", ".join(accepted)))
with right:
    source = st.selectbox(c.t("intake.source"), SOURCES, format_func=lambda s: c.t(f"source.{s}"), key="in_source", placeholder=c.t("mapview.choose"))
    default_crs = ws.settings.source_crs[source]
    crs_choice = st.selectbox(c.t("intake.crs"), CRS_CHOICES, key="in_crs", placeholder=c.t("mapview.choose"),
                              format_func=lambda k: c.t(f"intake.crs_{k.lower()}", default=default_crs))
    epsg = ""
    if crs_choice == "EPSG":
        epsg = st.text_input(c.t("intake.epsg"), placeholder="EPSG:4548", key="in_epsg")
    mapping_upload = st.file_uploader(c.t("intake.mapping"), type=["toml"], key="in_mapping",
                                      help=c.t("intake.mapping_help"))

crs = None if crs_choice == "auto" else (epsg.strip() or None) if crs_choice == "EPSG" else crs_choice

path = mapping_path = pv = None
if upload is None:
    st.session_state.pop("in_ingested", None)  # a file taken out of the box and put back is a new upload
else:
    # checked before anything is written; a refused file stops here with the reason and the fix
    content = upload.getvalue()
    ingested = st.session_state.get("in_ingested") == data.upload_digest(content)
    if ingested:  # ingested and removed from the workspace: not written again while the widget holds it
        st.caption(c.t("intake.upload_removed"))
    else:
        with ui.guard(stop=False):
            path = data.store_upload(ws, data.check_upload(ws, upload.name, content), content)
            if mapping_upload is not None:
                mapping_content = mapping_upload.getvalue()
                mapping_path = data.store_upload(
                    ws, data.check_upload(ws, mapping_upload.name, mapping_content, types=(".toml",)),
                    mapping_content)
    if path is None and not ingested:
        st.session_state.pop("in_report", None)
# Fields whose column the user can change on this page (the rest through a mapping file).  A comment, not a
# docstring: Streamlit's magic would draw a bare string on the page.
CHANGEABLE = ("occurred_at", "category_raw", "lon", "lat", "address", "source_id", "text")

if path is not None:
    with ui.guard(stop=False):
        # the user's column choices (field → column) become a mapping file kept in the workspace
        chosen = {f: st.session_state[f"in_col_{f}"] for f in CHANGEABLE
                  if st.session_state.get(f"in_col_{f}", "auto") != "auto"}
        mapping_path = data.mapping_with_choices(ws, str(mapping_path) if mapping_path else None, chosen)
        pv = data.preview(str(path), source, data.file_stamp(path), str(mapping_path) if mapping_path else None,
                          data.file_stamp(mapping_path), crs)
        st.subheader(c.t("intake.preview"))
        meta = [c.t("intake.rows", n=c.fmt_int(pv["rows"]))]
        if pv["encoding"]:
            meta.append(c.t("intake.encoding", encoding=pv["encoding"]))
        if pv["declared_crs"]:
            meta.append(c.t("intake.declared_crs", crs=pv["declared_crs"]))
        st.caption(" · ".join(meta))
        mp = pv["mapping"]
        fields = pd.DataFrame({
            "field": [c.t(f"field.{k}") if c.has(f"field.{k}") else k for k in pv["fields"]],
            "code": list(pv["fields"]), "header": list(pv["fields"].values()),
            "how": [c.t(f"intake.how_{mp[k]['how'].replace(' ', '_')}") if k in mp else "" for k in pv["fields"]],
            "confidence": [f"{mp[k]['confidence']:.0%}" if k in mp else "" for k in pv["fields"]],
            "runner_up": [mp[k].get("runner_up", "") if k in mp else "" for k in pv["fields"]]})
        m1, m2 = st.columns([2, 3])
        with m1:
            st.markdown(f"**{c.t('intake.mapping_detected')}**")
            st.dataframe(ui.localised_frame(fields, "mapping"), hide_index=True, width="stretch")
            if pv["unmapped"]:
                st.caption(c.t("intake.unmapped", headers="、".join(map(str, pv["unmapped"]))))
            if pv["missing"]:
                st.warning(c.t("intake.missing", fields="、".join(
                    c.t(f"field.{k}") if c.has(f"field.{k}") else k for k in pv["missing"])))
        with m2:
            st.markdown(f"**{c.t('intake.first_rows')}**")
            st.dataframe(pv["head"], hide_index=True, width="stretch", height=260)
        with st.expander(c.t("intake.change_columns"), expanded=pv["error"] is not None):
            st.caption(c.t("intake.change_columns_help"))
            options = ["auto", "", *pv["headers"]]
            cols = st.columns(4)
            for i, f in enumerate(CHANGEABLE):
                cols[i % 4].selectbox(
                    c.t(f"field.{f}") if c.has(f"field.{f}") else f, options, key=f"in_col_{f}",
                    format_func=lambda h: c.t("intake.col_auto") if h == "auto" else
                    c.t("intake.col_none") if h == "" else h)
        if pv["error"]:
            st.error(c.t("intake.mapping_stop"), icon=":material/block:")
            st.code(pv["error"], language=None)
            st.download_button(c.t("intake.download_mapping"), data=pv["mapping_toml"].encode("utf-8"),
                               file_name="mapping.toml", mime="application/toml", key="in_dl_mapping")
        else:
            d = pv["dry_run"]
            st.info(c.t("intake.dry_run", stored=c.fmt_int(d["stored"]), duplicates=c.fmt_int(d["duplicates"]),
                        quarantined=c.fmt_int(d["quarantined"]), read=c.fmt_int(d["read"])),
                    icon=":material/preview:")
            for w in pv["warnings"]:
                st.warning(w, icon=":material/help:")
            if len(pv["preview"]):
                st.markdown(f"**{c.t('intake.parsed_rows')}**")
                st.dataframe(pv["preview"], hide_index=True, width="stretch")

    blocked = pv is None or pv["error"] is not None
    if st.button(c.t("intake.ingest"), type="primary", key="in_go", icon=":material/database:", disabled=blocked):
        st.session_state.pop("in_report", None)  # never show the previous file's report for this one
        bar = st.progress(0.0, text=c.t("intake.progress", stage="…"))

        def progress(stage: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=c.t("intake.progress", stage=stage))

        from geo.ingest.pipeline import ingest_file

        with ui.guard(stop=False):
            # ingest_file writes the audit row (who, file hash, counts) in the ingest's own transaction
            report = ingest_file(path, source, ws, crs=crs, mapping_file=mapping_path, progress=progress,
                                 actor=user.username, role=user.role)
            bar.progress(1.0, text=c.t("intake.done"))
            st.session_state["in_report"] = report.to_dict()
            # the raw file holds caller numbers: gone unless access.keep_uploads_days keeps it
            if data.discard_upload(ws, path):
                st.session_state["in_ingested"] = data.upload_digest(upload.getvalue())

report = st.session_state.get("in_report")
if report:
    st.subheader(c.t("intake.report", file=Path(report["file"]).name))
    cols = st.columns(4)
    for box, field in zip(cols, ("read", "stored", "duplicates", "quarantined"), strict=True):
        box.metric(c.t(f"intake.{field}"), c.fmt_int(report[field]), border=True)
    # Balanced only when the counts add up AND they cover every record the file holds (counted apart from the parser).
    balanced = (report["read"] == report["stored"] + report["duplicates"] + report["quarantined"]
                and report.get("matches_file", True))
    (st.success if balanced else st.error)(c.t("intake.reconciled" if balanced else "intake.not_reconciled",
                                               read=c.fmt_int(report["read"]), stored=c.fmt_int(report["stored"]),
                                               duplicates=c.fmt_int(report["duplicates"]),
                                               quarantined=c.fmt_int(report["quarantined"])))
    if report.get("file_records") is not None:
        st.caption(c.t("intake.file_records", records=c.fmt_int(report["file_records"]),
                       blank=c.fmt_int(report.get("blank_rows", 0)),
                       verdict=c.t("intake.file_ok" if report.get("matches_file", True) else "intake.file_mismatch")))
    if report["by_reason"]:
        reasons = pd.DataFrame({
            "reason": [c.t(f"reason.{k}") if c.has(f"reason.{k}") else k for k in report["by_reason"]],
            "code": list(report["by_reason"]), "rows": list(report["by_reason"].values())})
        st.dataframe(ui.localised_frame(reasons, "reasons"), hide_index=True)
    for warning in report.get("warnings", []):
        st.warning(warning, icon=":material/warning:")
    qfile = report.get("quarantine_file")
    if qfile and Path(qfile).exists():
        session.download_button(c.t("intake.download_quarantine"), data=Path(qfile).read_bytes(),
                                file_name=Path(qfile).name, mime="text/csv", key="in_dl_quarantine",
                                what="quarantine", details={"rows": int(report["quarantined"])})

with st.expander(c.t("intake.store_status"), expanded=report is None):
    from geo.store.database import store_counts

    with ui.guard(stop=False):
        counts = store_counts(ws.store_path)
        cols = st.columns(4)
        cols[0].metric(c.t("intake.total_events"), c.fmt_int(counts["events"]))
        cols[1].metric(c.t("intake.files"), c.fmt_int(counts["ingests"]["files"]))
        cols[2].metric(c.t("intake.duplicates"), c.fmt_int(counts["ingests"]["duplicates"]))
        cols[3].metric(c.t("intake.quarantined"), c.fmt_int(counts["ingests"]["quarantined"]))
        if counts["by_source"]:
            st.bar_chart(pd.Series({c.t(f"source.{k}"): v for k, v in counts["by_source"].items()},
                                   name=c.t("intake.events")), horizontal=True, height=200)
