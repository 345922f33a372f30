"""The ingest's one privacy pass (issue 21): every stored text field scrubbed before anything uses it."""

from __future__ import annotations

import os
import stat

import openpyxl
import pandas as pd

from geo.ingest.pipeline import ingest_file
from geo.ingest.quarantine import read_quarantine
from geo.privacy import find_personal_data
from geo.store.database import read_events
from geo.store.export import write_table

HEAD = "工单编号,受理时间,诉求类别,诉求内容,诉求地址,经度,纬度,来电号码,办理状态\n"
ROWS = [
    "G1,2024-03-05 09:00:00,违法停放,占道\x01经营,西城区德胜门外大街1号 138.1234.5678,116.3790,39.9450,"
    "13812345678,回访136 1234 5678",
    "G2,2024-03-05 10:00:00,回访13912345678,车牌京A12345,西城区2号,116.3750,39.9300,,处理中",
    "13712345678,2024-03-05 11:00:00,违法停放,身份证110105 19491231 0021,,116.3700,39.9200,,办结",
    "G4,2024-03-05 12:00:00,违法停放,夜间施工 2024.03.05 金额1234.56 单号20240305123456,西城区3号,"
    "116.3720,39.9250,,处理中",
    "G5,not a time,违法停放,无,西城区4号 +86 138-1234-5678,116.3720,39.9250,,处理中",
]


def test_every_stored_text_field_is_scrubbed_and_reports_see_only_masks(xicheng_ws, tmp_path):
    path = tmp_path / "hotline_pd.csv"
    path.write_text(HEAD + "\n".join(ROWS) + "\n", encoding="utf-8")
    report = ingest_file(path, "hotline", xicheng_ws, crs="WGS84")
    assert (report.read, report.stored, report.quarantined) == (5, 4, 1)
    ev = read_events(xicheng_ws.store_path).set_index("source_row").sort_index()
    assert ev.loc[2, "address"] == "西城区德胜门外大街1号 138****5678"
    assert ev.loc[2, "status"] == "回访136****5678" and ev.loc[2, "text"] == "占道经营"  # \x01 dropped
    # an unmatched raw category becomes a workspace category, coded from the masked value
    assert ev.loc[3, "category_raw"] == "回访139****5678" and ev.loc[3, "category"] == "回访139_5678"
    assert ev.loc[3, "text"] == "车牌京A·***45" and ev.loc[4, "text"] == "身份证110105********0021"
    # look-alikes untouched: dates, amounts, order numbers
    assert ev.loc[5, "text"] == "夜间施工 2024.03.05 金额1234.56 单号20240305123456"
    # a record id holding a phone is replaced by a keyed hash, with a warning
    assert ev.loc[4, "source_id"].startswith("pd-") and len(ev.loc[4, "source_id"]) == 23
    assert ev.loc[4, "event_id"] == "hotline:" + ev.loc[4, "source_id"]
    assert any("replaced by keyed hashes" in w for w in report.warnings)
    # the report's list of new workspace categories holds the masked value only
    added = report.new_categories["回访139_5678"]
    assert (added["label"], added["values"]) == ("回访139****5678", ["回访139****5678"])
    assert report.own_categories == {"回访139_5678": 1} and report.other_categories == {}
    texts = pd.Series([str(v) for v in ev.drop(columns=[c for c in ev.columns if c.endswith("hash")])
                       .astype("string").to_numpy().ravel() if pd.notna(v)], dtype="string")
    # the pseudonymous id's 20 hex digits are a keyed hash, and can read as a landline by chance
    assert not find_personal_data(texts.str.replace(r"pd-[0-9a-f]{20}", "pd-<hash>", regex=True)).any()
    # the quarantined raw row is masked and the file is private
    q = read_quarantine(report.quarantine_file)
    assert q.loc[0, "诉求地址"] == "西城区4号 138****5678"
    assert stat.S_IMODE(os.stat(report.quarantine_file).st_mode) == 0o600
    # a re-ingest gives the same hashed id: all duplicates
    again = ingest_file(path, "hotline", xicheng_ws, crs="WGS84")
    assert (again.stored, again.duplicates) == (0, 4)
    # the XLSX export of a control character opens
    out = write_table(read_events(xicheng_ws.store_path), tmp_path / "e.xlsx")
    assert openpyxl.load_workbook(out).active.max_row == 5
