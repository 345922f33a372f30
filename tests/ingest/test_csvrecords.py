"""Physical record counting and runaway quotes (geo.ingest.csvrecords, through read_raw and ingest_file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.ingest.csvrecords import BROKEN_QUOTE, count_lines, scan_records
from geo.ingest.pipeline import ingest_file
from geo.ingest.quarantine import read_quarantine
from geo.ingest.readers import read_raw
from geo.store.database import store_counts

HEADER = "编号,巡查时间,经度,纬度,问题类型,问题描述,处置状态"


def _row(i: int, text: str = "出店经营") -> str:
    return f"R{i:05d},2024-03-05 08:30:00,116.{365000 + i % 5000:06d},39.912000,占道经营,{text},已处置"


def _write(tmp_path: Path, lines: list[str], name: str = "f.csv", eol: str = "\n") -> Path:
    p = tmp_path / name
    p.write_bytes((eol.join(lines) + eol).encode("utf-8"))
    return p


def test_count_lines_knows_every_line_ending():
    assert count_lines(b"") == 0
    assert count_lines(b"a") == 1
    assert count_lines(b"a\nb\n") == 2
    assert count_lines(b"a\r\nb\rc") == 3
    assert count_lines(b"a\r\r\n") == 2


def test_scan_counts_multi_line_fields_as_one_record():
    s = scan_records(b'a,b\n1,"x\ny"\n2,z\n', ",", 2, max_field_lines=50, max_record_bytes=10**6)
    assert (s.lines, s.records, s.cut) == (4, 3, [])


def test_unclosed_quote_at_line_101_costs_one_row_of_20000(tmp_path, xicheng_ws):
    lines = [HEADER] + [_row(i, '"没有闭合的引号 138 1234 5678' if i == 99 else "出店经营") for i in range(20000)]
    p = _write(tmp_path, lines)
    raw = read_raw(p)
    assert (raw.file_lines, raw.file_records) == (20001, 20000)
    assert len(raw.frame) == 19999 and len(raw.bad_rows) == 1
    bad = raw.bad_rows.iloc[0]
    assert (bad["_row"], bad["reason"]) == (101, BROKEN_QUOTE)
    assert bad["text"] == lines[100]  # the whole raw line, not cut
    assert raw.frame["_row"].iloc[98] == 100 and raw.frame["_row"].iloc[99] == 102
    assert raw.matches_file

    r = ingest_file(p, "patrol", xicheng_ws, crs="WGS84")
    assert r.read == 20000 and r.file_records == 20000 and r.file_lines == 20001
    assert r.quarantined == 1 and r.by_reason == {"broken_quote": 1}
    assert r.stored + r.duplicates == 19999
    assert r.reconciles and r.matches_file
    d = r.to_dict()
    assert (d["file_records"], d["file_lines"], d["matches_file"]) == (20000, 20001, True)
    q = read_quarantine(r.quarantine_file)
    assert q["source_row"].tolist() == ["101"]
    raw_line = q["raw_line"].iloc[0] if "raw_line" in q else ""
    assert "1234" not in "".join(q.astype(str).to_numpy().ravel())  # the phone is masked (138****5678)
    assert "没有闭合的引号" in raw_line
    assert store_counts(xicheng_ws.store_path)["events"] == 19999


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_unclosed_quote_with_any_line_ending(tmp_path, eol):
    lines = [HEADER] + [_row(i) for i in range(10)] + [_row(10, '"断开')] + [_row(i) for i in range(11, 80)]
    raw = read_raw(_write(tmp_path, lines, eol=eol))
    assert len(raw.frame) == 79 and raw.bad_rows["reason"].tolist() == [BROKEN_QUOTE]
    assert raw.bad_rows["_row"].tolist() == [12]
    assert raw.file_records == 80 and raw.matches_file


def test_cr_only_file_counts_lines_and_records(tmp_path):
    lines = [HEADER] + [_row(i) for i in range(30)]
    raw = read_raw(_write(tmp_path, lines, eol="\r"))
    assert (len(raw.frame), raw.file_lines, raw.file_records) == (30, 31, 30)
    assert raw.frame["_row"].tolist() == list(range(2, 32))


def test_doubled_quotes_are_one_field(tmp_path):
    lines = [HEADER, _row(0, '"他说""出店""了"'), _row(1)]
    raw = read_raw(_write(tmp_path, lines))
    assert raw.frame["问题描述"].tolist() == ['他说"出店"了', "出店经营"]
    assert len(raw.bad_rows) == 0 and raw.matches_file


def test_backslash_escaped_quote_keeps_the_row_and_the_rest(tmp_path):
    lines = [HEADER, _row(0, '"他说\\"出店 了"'), _row(1, '"路径 C:\\\\dir\\"'), _row(2)]
    raw = read_raw(_write(tmp_path, lines))
    # No row is lost and none swallows the next: three rows (bad or good), each on its own line.
    assert len(raw.frame) + len(raw.bad_rows) == 3 and raw.file_records == 3 and raw.matches_file
    assert "R00002" in raw.frame["编号"].tolist()


def test_quote_in_the_middle_of_a_field_is_a_literal(tmp_path):
    lines = [HEADER, _row(0, '门口有"占道'), _row(1, '尺寸5"'), _row(2)]
    raw = read_raw(_write(tmp_path, lines))
    assert raw.frame["问题描述"].tolist() == ['门口有"占道', '尺寸5"', "出店经营"]
    assert raw.file_records == 3 and raw.matches_file


def test_a_legitimate_multi_line_field_is_kept(tmp_path):
    lines = [HEADER, _row(0, '"第一行\n第二行\n第三行"'), _row(1)]
    raw = read_raw(_write(tmp_path, lines))
    assert raw.frame["问题描述"].iloc[0] == "第一行\n第二行\n第三行"
    assert raw.frame["_row"].tolist() == [2, 3]
    assert (raw.file_lines, raw.file_records, len(raw.bad_rows)) == (5, 2, 0)


def test_a_quote_running_past_max_field_lines_is_broken_even_with_the_right_field_count(tmp_path):
    # The stray quote closes 60 lines later exactly where the field count happens to match.
    body = [_row(i) for i in range(60)]
    lines = [HEADER, "R9,2024-03-05 08:30:00,116.1,39.9,占道经营,\"开始"] + body + ['结束",已处置']
    raw = read_raw(_write(tmp_path, lines))
    assert raw.bad_rows["reason"].tolist()[0] == BROKEN_QUOTE
    assert raw.bad_rows["_row"].tolist()[0] == 2
    assert len(raw.frame) == 60 and raw.matches_file


def test_two_stray_quotes_cost_two_rows(tmp_path):
    lines = [HEADER] + [_row(i, '"坏' if i in (5, 40) else "好") for i in range(100)]
    raw = read_raw(_write(tmp_path, lines))
    assert raw.bad_rows["_row"].tolist() == [7, 42]
    assert len(raw.frame) == 98 and raw.matches_file


def test_an_oversized_record_is_set_aside_with_its_reason(tmp_path):
    lines = [HEADER, _row(0, "长" * 400_000), _row(1)]
    raw = read_raw(_write(tmp_path, lines), max_record_mb=1.0)
    assert raw.bad_rows["reason"].tolist() == ["record_too_large"]
    assert "ingest.max_record_mb" in raw.bad_rows["detail"].iloc[0]
    assert raw.frame["编号"].tolist() == ["R00001"] and raw.matches_file
