"""Files at rest are the owner's only (issue 21, item 4): store, quarantine, exports 0600 in 0700 folders."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pandas as pd

from geo.store.database import connect
from geo.store.export import write_table
from geo.store.files import make_private, private_dir, private_umask, prune_files


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_umask_restores_the_umask_and_nests(tmp_path):
    old = os.umask(0o022)
    try:
        with private_umask():
            with private_umask():
                (tmp_path / "a").write_text("x")
            (tmp_path / "b").mkdir()
            (tmp_path / "c").write_text("x")
        (tmp_path / "d").write_text("x")
        assert (mode(tmp_path / "a"), mode(tmp_path / "b"), mode(tmp_path / "c")) == (0o600, 0o700, 0o600)
        assert mode(tmp_path / "d") == 0o644
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(old)


def test_private_umask_from_many_threads_restores_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        barrier = threading.Barrier(8)

        def work(i: int) -> None:
            with private_umask():
                barrier.wait()
                (tmp_path / f"t{i}").write_text("x")

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {mode(tmp_path / f"t{i}") for i in range(8)} == {0o600}
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(old)


def test_make_private_and_private_dir(tmp_path):
    f = tmp_path / "old.csv"
    f.write_text("x")
    f.chmod(0o644)
    assert mode(make_private(f)) == 0o600
    assert make_private(tmp_path / "missing") == tmp_path / "missing"  # no error
    d = private_dir(tmp_path / "q" / "r")
    assert mode(d) == 0o700
    (tmp_path / "open").mkdir(mode=0o755)
    assert mode(private_dir(tmp_path / "open")) == 0o700


def test_prune_files_removes_only_old_files_and_empty_folders(tmp_path):
    (tmp_path / "u" / "old").mkdir(parents=True)
    (tmp_path / "u" / "new").mkdir(parents=True)
    old, new = tmp_path / "u" / "old" / "a.csv", tmp_path / "u" / "new" / "b.csv"
    old.write_text("x")
    new.write_text("y")
    os.utime(old, (1_000_000, 1_000_000))
    assert prune_files(tmp_path / "u", 1.0) == [old]
    assert not (tmp_path / "u" / "old").exists() and new.exists()
    assert prune_files(tmp_path / "nothing", 1.0) == []


def test_store_exports_and_their_folders_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        store = tmp_path / "ws" / "store.duckdb"
        with connect(store) as con:
            con.execute("SELECT 1")
        assert mode(store) == 0o600 and mode(store.parent) == 0o700
        store.chmod(0o644)  # a store made by an older version
        with connect(store) as con:
            con.execute("SELECT 1")
        assert mode(store) == 0o600
        df = pd.DataFrame({"text": ["a"], "lon": [116.4], "lat": [39.9]})
        for ext in (".csv", ".xlsx", ".geojson", ".parquet"):
            out = write_table(df, tmp_path / "out" / f"e{ext}")
            assert mode(out) == 0o600, ext
        assert mode(tmp_path / "out") == 0o700
        again = tmp_path / "out" / "e.csv"
        again.chmod(0o644)
        assert mode(write_table(df, again)) == 0o600  # overwriting fixes an old mode
        (tmp_path / "after.txt").write_text("x")
        assert mode(tmp_path / "after.txt") == 0o644  # the umask is back outside
    finally:
        os.umask(old)
