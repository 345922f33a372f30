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
    ("DELETE FROM audit WHERE seq = 3", 3),  # the deleted row is named
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
        audit.write_anchor(con)
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


# --- the keyed chain and the anchor (issue 21) ---------------------------------------------------------------

def _sql(ws, *statements):
    con = duckdb.connect(str(ws.store_path))
    for s in statements:
        con.execute(s)
    con.close()


def test_row_hash_with_a_key_is_hmac_sha256():
    import hmac

    details = audit.canonical_details({"a": 1})
    payload = json.dumps([audit.GENESIS, 1, 5, "u", "r", "export", "t", details], ensure_ascii=False,
                         separators=(",", ":")).encode()
    key = b"k" * 32
    assert audit.row_hash(audit.GENESIS, 1, 5, "u", "r", "export", "t", details, key) == \
        hmac.new(key, payload, hashlib.sha256).hexdigest()


def test_key_and_anchor_live_beside_the_store_owner_only(ws):
    import os
    import stat

    _fill(ws, 3)
    key, anchor = audit.key_path(ws.store_path), audit.anchor_path(ws.store_path)
    assert key.parent == ws.store_path.parent == (ws.root / ".salt").parent
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and stat.S_IMODE(os.stat(anchor).st_mode) == 0o600
    assert len(bytes.fromhex(key.read_text())) == 32
    lines = [json.loads(x) for x in anchor.read_text().splitlines()]
    log = audit.read_audit(ws)
    assert [x["seq"] for x in lines] == [1, 2, 3] and [x["hash"] for x in lines] == log["hash"].tolist()
    check = audit.verify_audit(ws)
    assert check.ok and check.rows == 3 and check.anchored_seq == 3 and check.legacy_rows == 0


def _rechain(ws, key: bytes | None) -> None:
    """Recompute every row's hash after an edit, as an attacker with SQL access (and maybe the key) would."""
    con = duckdb.connect(str(ws.store_path))
    rows = con.execute('SELECT seq, epoch_us("at"), actor, role, action, target, CAST(details AS VARCHAR) '
                       "FROM audit ORDER BY seq").fetchall()
    prev = audit.GENESIS
    for seq, at_us, actor, role, action, target, details in rows:
        digest = audit.row_hash(prev, seq, at_us, actor, role, action, target, details, key)
        con.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", [prev, digest, seq])
        prev = digest
    con.close()


@pytest.mark.parametrize("attack, bad, words", [
    (lambda ws: _sql(ws, "DELETE FROM audit"), 1, "gone or empty"),
    (lambda ws: _sql(ws, "DELETE FROM audit WHERE seq >= 4"), 4, "ends at row 3"),  # truncation
    (lambda ws: _sql(ws, "DROP TABLE audit"), 1, "gone or empty"),
    (lambda ws: _sql(ws, "DELETE FROM audit WHERE seq = 2"), 2, "missing"),
    # re-chained as plain SHA-256 without the key: passes as "legacy" rows, but the anchor disagrees
    (lambda ws: (_sql(ws, "UPDATE audit SET actor = 'nobody' WHERE seq = 2"), _rechain(ws, None)), 1, "recomputed"),
    (lambda ws: _sql(ws, "UPDATE audit SET actor = 'nobody', hash = 'ab' || hash[3:] WHERE seq = 5"), 5, "changed"),
    (lambda ws: (_sql(ws, "UPDATE audit SET actor = 'nobody' WHERE seq = 2"),
                 _rechain(ws, audit.audit_key(ws.store_path))), 2, "recomputed"),
])
def test_verify_detects_every_rewrite(ws, attack, bad, words, capsys):
    _fill(ws, 5)
    assert audit.verify_audit(ws).ok
    attack(ws)
    check = audit.verify_audit(ws)
    assert not check.ok and check.first_bad_seq == bad and words in check.problem
    assert audit.verify_chain(ws) == (False, bad)
    assert main(["audit", "--verify", "--json", "-w", str(ws.root)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["first_bad_seq"] == bad and words in doc["problem"]


def test_truncating_rows_and_the_anchor_lines_still_fails_on_a_deleted_anchor(ws):
    _fill(ws, 3)
    audit.anchor_path(ws.store_path).unlink()
    check = audit.verify_audit(ws)
    assert not check.ok and "anchor file" in check.problem and "missing" in check.problem


def test_a_forged_anchor_line_is_reported(ws):
    _fill(ws, 3)
    with audit.anchor_path(ws.store_path).open("a") as fh:
        fh.write(json.dumps({"seq": 1, "hash": "0" * 64, "at": "x", "mac": "f" * 64}) + "\n")
    check = audit.verify_audit(ws)
    assert not check.ok and "not written with this store's key" in check.problem


def test_rows_written_before_the_key_are_accepted_as_a_legacy_prefix(ws):
    _fill(ws, 2)
    # Make the store look like an old one: plain SHA-256 chain, no key, no anchor.
    audit.anchor_path(ws.store_path).unlink()
    audit.key_path(ws.store_path).unlink()
    _rechain(ws, None)
    audit.record(ws, "login", actor="user1")  # creates a key; this row and later ones are keyed
    check = audit.verify_audit(ws)
    assert check.ok and check.legacy_rows == 2 and check.rows == 3 and check.anchored_seq == 3
    # A legacy-hashed row after a keyed one is not accepted.
    _sql(ws, "UPDATE audit SET actor = 'x' WHERE seq = 3")
    _rechain(ws, None)
    assert not audit.verify_audit(ws).ok


def test_cli_verify_text_says_intact_with_the_row_count(ws, capsys):
    _fill(ws, 2)
    assert main(["audit", "--verify", "-w", str(ws.root)]) == 0
    assert "intact (2 rows); anchored up to row 2" in capsys.readouterr().out
