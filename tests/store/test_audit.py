"""The append-only, hash-chained audit log and what the CLI records in it (issue 12)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from geo.cli import main
from geo.settings import AccessSettings
from geo.store import audit
from geo.store.database import append_events, connect
from geo.store.workspace import update_settings
from tests.conftest import make_events


@pytest.fixture
def ws(box_workspace):
    return box_workspace


def _fill(ws, n: int = 3) -> None:
    for i in range(n):
        audit.record(ws, "export", actor=f"user{i}", role="analyst", target=f"f{i}.csv",
                     details={"rows": i, "名称": "西城"})


def test_record_and_read_round_trip(ws):
    assert audit.read_audit(ws).empty and audit.verify_chain(ws) == (True, None)
    before = datetime.now(UTC)
    _fill(ws)
    audit.record(ws, "login", actor="user1", role="analyst")
    log = audit.read_audit(ws)
    assert list(log.columns) == list(audit.COLUMNS)
    assert log["seq"].tolist() == [1, 2, 3, 4]
    assert log["action"].tolist() == ["export", "export", "export", "login"]
    assert log["target"].tolist()[:3] == ["f0.csv", "f1.csv", "f2.csv"]
    assert json.loads(log["details"].iloc[2]) == {"rows": 2, "名称": "西城"}
    assert log["details"].iloc[3] == "{}"
    assert (log["at"] >= pd.Timestamp(before) - pd.Timedelta(seconds=1)).all()
    assert str(log["at"].dt.tz) == "UTC"
    # The chain: the first row links to the genesis hash, each row to the one before.
    assert log["prev_hash"].iloc[0] == audit.GENESIS
    assert log["prev_hash"].iloc[1:].tolist() == log["hash"].iloc[:-1].tolist()


def test_row_hash_is_sha256_of_the_canonical_row():
    details = audit.canonical_details({"b": 1, "a": "西"})
    assert details == '{"a":"西","b":1}'
    expected = hashlib.sha256(
        json.dumps([audit.GENESIS, 1, 5, "u", "r", "export", "t", details], ensure_ascii=False,
                   separators=(",", ":")).encode()).hexdigest()
    assert audit.row_hash(audit.GENESIS, 1, 5, "u", "r", "export", "t", details) == expected
    assert audit.row_hash(audit.GENESIS, 1, 6, "u", "r", "export", "t", details) != expected


def test_filters_since_action_actor_limit(ws):
    _fill(ws)
    audit.record(ws, "login", actor="user1")
    assert audit.read_audit(ws, action="login")["seq"].tolist() == [4]
    assert audit.read_audit(ws, actor="user1")["seq"].tolist() == [2, 4]
    assert audit.read_audit(ws, limit=2)["seq"].tolist() == [3, 4]  # the latest, oldest first
    assert audit.read_audit(ws, since=date.today() + timedelta(days=2)).empty
    assert len(audit.read_audit(ws, since=(date.today() - timedelta(days=1)).isoformat())) == 4
    with pytest.raises(audit.AuditError, match="unknown audit action"):
        audit.read_audit(ws, action="delete")
    with pytest.raises(audit.AuditError, match="YYYY-MM-DD"):
        audit.read_audit(ws, since="yesterday")


def test_bad_records_are_refused(ws):
    with pytest.raises(audit.AuditError, match="unknown audit action 'drop'"):
        audit.record(ws, "drop", actor="x")
    with pytest.raises(audit.AuditError, match="needs an actor"):
        audit.record(ws, "login", actor="")
    assert audit.read_audit(ws).empty


def test_appending_never_changes_earlier_rows(ws):
    _fill(ws)
    first = audit.read_audit(ws)
    _fill(ws, 2)
    after = audit.read_audit(ws)
    pd.testing.assert_frame_equal(after.iloc[:3], first)
    assert not any(name.startswith(("update", "delete", "remove", "clear")) for name in dir(audit))


def test_verify_detects_an_edited_row(ws):
    _fill(ws, 5)
    assert audit.verify_chain(ws) == (True, None)
    con = duckdb.connect(str(ws.store_path))
    con.execute("UPDATE audit SET details = '{\"rows\":0}' WHERE seq = 3")
    con.close()
    assert audit.verify_chain(ws) == (False, 3)


@pytest.mark.parametrize("sql, bad", [
    ("UPDATE audit SET actor = 'someone else' WHERE seq = 2", 2),
    ("UPDATE audit SET \"at\" = \"at\" - INTERVAL 1 HOUR WHERE seq = 4", 4),
    ("DELETE FROM audit WHERE seq = 3", 4),  # the row after a deleted one no longer links
])
def test_verify_names_the_first_tampered_seq(ws, sql, bad):
    _fill(ws, 5)
    con = duckdb.connect(str(ws.store_path))
    con.execute(sql)
    con.close()
    assert audit.verify_chain(ws) == (False, bad)


def test_record_in_joins_the_callers_transaction(ws):
    events = make_events([116.37, 116.38], [39.90, 39.91], ["2025-03-01 08:00", "2025-03-01 09:00"])
    with connect(ws.store_path) as con:
        con.execute("BEGIN TRANSACTION")
        append_events(con, events)
        audit.record_in(con, "ingest", actor="cli:test", role="admin", target="a.csv",
                        details={"file_sha256": "ab" * 32, "stored": 2})
        # Further work on the same connection still runs after the audit insert.
        assert con.sql("SELECT count(*) FROM events").fetchall() == [(2,)]
        con.execute("ROLLBACK")
    assert audit.read_audit(ws).empty  # rolled back together with the events
    with connect(ws.store_path) as con:
        con.execute("BEGIN TRANSACTION")
        append_events(con, events)
        audit.record_in(con, "ingest", actor="cli:test", target="a.csv", details={"stored": 2})
        con.execute("COMMIT")
    log = audit.read_audit(ws)
    assert log["action"].tolist() == ["ingest"] and audit.verify_chain(ws) == (True, None)


def test_settings_changes_are_audited(ws):
    update_settings(ws, access=AccessSettings(lockout_minutes=30))
    update_settings(ws, actor="alice", access=AccessSettings(lockout_minutes=30, max_failed_logins=3))
    log = audit.read_audit(ws, action="settings_change")
    assert log["actor"].tolist() == [audit.cli_actor(), "alice"]
    assert log["target"].tolist() == ["gridwatch.toml"] * 2
    changed = [json.loads(d)["changed"] for d in log["details"]]
    assert list(changed[0]) == ["access"] and changed[0]["access"]["lockout_minutes"] == 30
    assert changed[1]["access"]["max_failed_logins"] == 3


def test_cli_exports_are_audited_and_audit_json_shows_them(ws, capsys):
    events = make_events([116.37, 116.38, 116.39], [39.90, 39.91, 39.90],
                         ["2025-03-01 08:00", "2025-03-02 09:00", "2025-03-05 10:00"])
    with connect(ws.store_path) as con:
        append_events(con, events)
    out = ws.root / "exports" / "march.csv"
    assert main(["export", "-o", str(out), "--since", "2025-03-02", "--source", "violation",
                 "-w", str(ws.root)]) == 0
    capsys.readouterr()
    assert main(["audit", "--json", "-w", str(ws.root)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 1
    row = rows[0]
    assert (row["seq"], row["action"], row["target"], row["actor"], row["role"]) == (
        1, "export", "march.csv", audit.cli_actor(), "admin")
    assert row["details"]["rows"] == 2 and row["details"]["command"] == "export"
    assert row["details"]["filters"]["since"] == "2025-03-02"
    assert row["details"]["filters"]["sources"] == ["violation"]
    assert row["at"].endswith("+08:00")  # shown in the workspace's time zone

    assert main(["audit", "--verify", "-w", str(ws.root)]) == 0
    assert "intact (1 rows)" in capsys.readouterr().out
    con = duckdb.connect(str(ws.store_path))
    con.execute("UPDATE audit SET target = 'other.csv'")
    con.close()
    assert main(["audit", "--verify", "-w", str(ws.root)]) == 1
    assert "BROKEN at seq 1" in capsys.readouterr().out


def test_cli_audit_filters_and_text_output(ws, capsys):
    _fill(ws)
    audit.record(ws, "login_failed", actor="user9", details={"reason": "unknown_user"})
    assert main(["audit", "--action", "login_failed", "-w", str(ws.root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "user9" in out[1] and "unknown_user" in out[1]
    assert main(["audit", "--actor", "user0", "--json", "-w", str(ws.root)]) == 0
    assert [r["target"] for r in json.loads(capsys.readouterr().out)] == ["f0.csv"]
    assert main(["audit", "--limit", "0", "-w", str(ws.root)]) == 0
    assert "no audit records" in capsys.readouterr().out


def test_cli_actor_names_the_os_user(monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "alice")
    assert audit.cli_actor() == "cli:alice"


def test_ingest_is_audited_in_its_own_transaction(ws, tmp_path, monkeypatch):
    from geo.ingest import pipeline as ingest

    csv = tmp_path / "patrol.csv"
    csv.write_text("记录编号,巡查时间,经度,纬度,问题类型\nA1,2024-03-05 08:00,116.38,39.90,占道经营\n"
                   "A2,2024-03-05 09:00,116.39,39.91,占道经营\nA3,not a time,116.39,39.91,占道经营\n", encoding="utf-8")
    report = ingest.ingest_file(csv, "patrol", ws, actor="wang", role="admin")
    log = audit.read_audit(ws, action="ingest")
    assert log["actor"].tolist() == ["wang"] and log["target"].tolist() == ["patrol.csv"]
    details = json.loads(log["details"].iloc[0])
    assert details["file_sha256"] == hashlib.sha256(csv.read_bytes()).hexdigest()
    assert (details["read"], details["stored"], details["quarantined"]) == (report.read, report.stored, 1) == (3, 2, 1)
    # a failure after the audit row rolls it back with the events
    other = tmp_path / "patrol2.csv"
    other.write_text(csv.read_text(encoding="utf-8").replace("A1", "B1").replace("A2", "B2"), encoding="utf-8")
    real = audit.record_in

    def written_then_crash(*a, **k):
        real(*a, **k)
        raise OSError("disk full")

    monkeypatch.setattr(audit, "record_in", written_then_crash)
    with pytest.raises(OSError):
        ingest.ingest_file(other, "patrol", ws)
    assert len(audit.read_audit(ws, action="ingest")) == 1 and audit.verify_chain(ws) == (True, None)
