"""The intake page: the preview masks personal data, the upload is private and removed after ingest (issue 21)."""

from __future__ import annotations

import stat
from pathlib import Path

from geo.store.workspace import load_workspace, update_settings
from tests.app.test_app import new_app, ok, workspace  # noqa: F401  (workspace is a fixture)

CSV = ("工单编号,受理时间,诉求类别,诉求内容,诉求地址,经度,纬度,来电号码,办理状态\n"
       "P1,2024-03-10 08:30:00,违法停放,车牌京A12345 身份证110105 19491231 0021,西城区1号 138.1234.5678,"
       "116.36,39.91,13812345678,回访13612345678\n"
       "P2,2024-03-11 08:30:00,违法停放,无,西城区2号,116.365,39.915,+86 139-1234-5678,处理中\n")
RAW = ("13812345678", "京A12345", "110105 19491231 0021", "138.1234.5678", "13612345678", "139-1234-5678")


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _uploaded(workspace: Path, name: str) -> list[Path]:  # noqa: F811
    return sorted((workspace / "uploads").rglob(name)) if (workspace / "uploads").exists() else []


def test_intake_preview_masks_and_upload_is_private_then_removed(workspace: Path) -> None:  # noqa: F811
    at = new_app("app_pages/intake.py", user="admin")
    at.file_uploader(key="in_file").set_value(("hotline_pd.csv", CSV.encode("utf-8"), "text/csv")).run()
    ok(at)
    # every table on the page: the raw preview, the mapping and the dry run's parsed rows
    cells = "\n".join(df.value[c].astype("string").fillna("").str.cat(sep="\n")
                      for df in at.dataframe for c in df.value.columns)
    assert [r for r in RAW if r in cells] == []
    assert "138****5678" in cells and "139****5678" in cells and "京A·***45" in cells
    assert "110105********0021" in cells and "回访136****5678" in cells
    files = _uploaded(workspace, "hotline_pd.csv")
    assert len(files) == 1 and _mode(files[0]) == 0o600
    assert _mode(files[0].parent) == 0o700 and _mode(workspace / "uploads") == 0o700
    at.button(key="in_go").click().run()
    ok(at)
    assert _uploaded(workspace, "hotline_pd.csv") == []  # removed after the ingest
    assert not files[0].parent.exists()
    at.run()  # the widget still holds the file: it is not written again
    ok(at)
    assert _uploaded(workspace, "hotline_pd.csv") == []
    assert any("已从工作区删除" in c.value for c in at.caption)


def test_intake_keeps_uploads_when_the_settings_say_so(workspace: Path) -> None:  # noqa: F811
    ws = load_workspace(workspace)
    update_settings(ws, access={**ws.settings.access.model_dump(), "keep_uploads_days": 7})
    try:
        at = new_app("app_pages/intake.py", user="admin")
        csv = CSV.replace("P1", "K1").replace("P2", "K2").encode("utf-8")
        at.file_uploader(key="in_file").set_value(("hotline_keep.csv", csv, "text/csv")).run()
        ok(at)
        at.button(key="in_go").click().run()
        ok(at)
        kept = _uploaded(workspace, "hotline_keep.csv")
        assert len(kept) == 1 and _mode(kept[0]) == 0o600
    finally:
        update_settings(ws, access={**ws.settings.access.model_dump(), "keep_uploads_days": 0})
