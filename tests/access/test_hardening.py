"""Hardening checks (issue 12): no code-running loaders, escaped spreadsheets, contained paths, localhost."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo.errors import WorkspaceError
from geo.ingest.quarantine import quarantine_frame, read_quarantine, write_quarantine
from geo.store.export import FORMULA_PREFIXES, escape_formulas, write_table
from geo.store.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]

# Calls that run code hidden in data: (module or None for a builtin, attribute)
DANGEROUS = {
    ("pickle", "load"), ("pickle", "loads"), ("pickle", "Unpickler"), ("cPickle", "load"),
    ("cPickle", "loads"), ("dill", "load"), ("dill", "loads"), ("joblib", "load"),
    ("marshal", "load"), ("marshal", "loads"), ("shelve", "open"),
    ("yaml", "load"), ("yaml", "unsafe_load"), ("yaml", "full_load"), ("yaml", "load_all"),
    ("pd", "read_pickle"), ("pandas", "read_pickle"), ("np", "load"), ("numpy", "load"),
    ("torch", "load"), (None, "eval"), (None, "exec"), (None, "compile"), (None, "__import__"),
}


def dangerous_calls(source: str, filename: str = "<src>") -> list[str]:
    """``file:line call`` for every call in ``source`` that can run code hidden in data.

    ``np.load`` counts only with ``allow_pickle=True``; ``yaml.load`` only without
    ``Loader=SafeLoader``; ``x.read_pickle`` on anything.
    """
    hits = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name):
            key: tuple[str | None, str] = (None, f.id)
        elif isinstance(f, ast.Attribute):
            base = f.value.id if isinstance(f.value, ast.Name) else None
            key = (base, f.attr)
            if f.attr == "read_pickle":
                key = ("pd", "read_pickle")
        else:
            continue
        if key not in DANGEROUS:
            continue
        kw = {k.arg: k.value for k in node.keywords}
        if key[1] == "load" and key[0] in ("np", "numpy"):
            allow = kw.get("allow_pickle")
            if not (isinstance(allow, ast.Constant) and allow.value is True):
                continue
        if key[0] == "yaml" and key[1] == "load":
            loader = kw.get("Loader")
            if isinstance(loader, (ast.Name, ast.Attribute)) and "Safe" in ast.unparse(loader):
                continue
        hits.append(f"{filename}:{node.lineno} {ast.unparse(node.func)}")
    return hits


def test_the_scanner_finds_what_it_looks_for():
    src = ("import pickle, yaml\nimport pandas as pd\nimport numpy as np\n"
           "pickle.loads(b)\neval('1')\nexec(s)\npd.read_pickle(p)\ndf.read_pickle(p)\n"
           "yaml.load(t)\nyaml.load(t, Loader=yaml.SafeLoader)\nnp.load(p)\nnp.load(p, allow_pickle=True)\n"
           "ast.literal_eval(s)\nre.compile(p)\n")
    hits = [h.split(" ", 1)[1] for h in dangerous_calls(src)]
    assert hits == ["pickle.loads", "eval", "exec", "pd.read_pickle", "df.read_pickle", "yaml.load", "np.load"]


def test_no_library_or_app_code_unpickles_or_evaluates_anything():
    files = sorted((ROOT / "geo").rglob("*.py")) + sorted((ROOT / "app_pages").glob("*.py")) + [ROOT / "app.py"]
    assert len(files) > 30
    hits = [h for p in files for h in dangerous_calls(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert hits == []


def test_no_module_imports_pickle_or_yaml():
    bad = []
    for p in sorted((ROOT / "geo").rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{p.name}: {n}" for n in names if n.split(".")[0] in ("pickle", "cPickle", "dill", "yaml",
                                                                           "marshal", "shelve")]
    assert bad == []


# --- localhost -------------------------------------------------------------------------------
def test_streamlit_config_binds_to_localhost():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["headless"] is True
    assert cfg["browser"]["gatherUsageStats"] is False
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "0.0.0.0" not in make and "--server.address 127.0.0.1" in make


def test_streamlit_itself_reads_localhost_from_the_project_config():
    # what `streamlit run app.py` in the project folder uses (unless STREAMLIT_SERVER_ADDRESS is set)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    code = ("import streamlit.config as c; c.get_config_options(force_reparse=True); "
            "print(c.get_option('server.address'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "127.0.0.1"


# --- spreadsheet escaping --------------------------------------------------------------------
RISKY = ["=1+1", "+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1+1"]


def test_escape_formulas_covers_the_owasp_list_in_every_text_dtype():
    assert set(FORMULA_PREFIXES) >= {"=", "+", "-", "@", "\t", "\r"}
    safe = ["ok", "a=b", " =1", "１２３", None]
    df = pd.DataFrame({
        "obj": pd.Series(RISKY + safe, dtype=object),
        "str": pd.Series(RISKY + safe, dtype="string"),
        "cat": pd.Categorical(RISKY + safe),
        "num": np.arange(len(RISKY) + len(safe)) - 5,
    })
    out = escape_formulas(df)
    want = ["'" + r for r in RISKY] + safe
    for col in ("obj", "str", "cat"):
        got = [None if pd.isna(v) else v for v in out[col].tolist()]
        assert got == want, col
    assert out["num"].tolist() == df["num"].tolist() and out["num"].dtype == df["num"].dtype
    mixed = escape_formulas(pd.DataFrame({"m": pd.Series([-5, "-5", 1.5, "=x"], dtype=object)}))
    assert mixed["m"].tolist() == [-5, "'-5", 1.5, "'=x"]  # numbers in an object column stay numbers
    assert df["obj"].iloc[0] == "=1+1"  # the input is not changed


def test_csv_and_xlsx_exports_hold_no_live_formula_even_in_headers(tmp_path):
    df = pd.DataFrame({"text": RISKY, "n": range(len(RISKY)), "=HYPERLINK(\"x\")": RISKY})
    csv = pd.read_csv(write_table(df, tmp_path / "t.csv"), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(csv.columns) == ["text", "n", "'=HYPERLINK(\"x\")"]
    assert csv["text"].tolist() == ["'" + r for r in RISKY]
    assert csv["n"].tolist() == [str(i) for i in range(len(RISKY))]
    wb = openpyxl.load_workbook(write_table(df, tmp_path / "t.xlsx"))
    cells = [c for row in wb.active.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in wb.active[1]] == ["text", "n", "'=HYPERLINK(\"x\")"]
    # headers given as renames are escaped after the rename
    wb = openpyxl.load_workbook(write_table(df[["n"]], tmp_path / "h.xlsx", headers={"n": "=cmd|' /C calc'!A0"}))
    assert wb.active["A1"].value == "'=cmd|' /C calc'!A0" and wb.active["A1"].data_type == "s"


# --- quarantine files ------------------------------------------------------------------------
def test_quarantine_files_mask_personal_data_and_escape_formulas(tmp_path):
    raw = pd.DataFrame({
        "_row": [2, 3, 4],
        "来电号码": ["13812345678", "+86 139-1234-5678", ""],
        "身份证": ["110105194912310021", "", None],
        "车牌": ["京A12345", "", "x"],
        "诉求内容": ["=HYPERLINK(\"http://x\")", "电话13712345678 车牌京B·67890", "@SUM(A1)"],
        "时间": ["", "", ""],
    }, index=[0, 1, 2])
    rec = quarantine_frame(raw, raw.index, "time_missing", "no time given", "时间", "f.csv")
    q = read_quarantine(write_quarantine(rec, tmp_path / "q.csv"))
    text = (tmp_path / "q.csv").read_text(encoding="utf-8-sig")
    for secret in ("13812345678", "1234-5678", "110105194912310021", "京A12345", "13712345678", "67890"):
        assert secret not in text
    assert q["来电号码"].tolist() == ["138****5678", "139****5678", ""]
    assert q["身份证"].tolist() == ["110105********0021", "", ""]
    assert q["车牌"].tolist() == ["京A·***45", "", "x"]
    assert q["诉求内容"].tolist() == ["'=HYPERLINK(\"http://x\")", "电话137****5678 车牌京B·***90", "'@SUM(A1)"]
    assert q["source_row"].tolist() == ["2", "3", "4"]
    assert rec["来电号码"].iloc[0] == "13812345678"  # the in-memory records are not changed


# --- workspace paths -------------------------------------------------------------------------
def _ws_with(tmp_path: Path, **paths: str) -> Path:
    root = tmp_path / "ws"
    root.mkdir(exist_ok=True)
    lines = ["[workspace]", 'name = "t"'] + [f"{k} = {v!r}".replace("'", '"') for k, v in paths.items()]
    (root / "gridwatch.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(("key", "value"), [
    ("gazetteer", "../../etc/passwd"), ("grids", "../grids.geojson"), ("area", "a/../../x.geojson"),
    ("store", "../../tmp/store.duckdb"), ("quarantine", ".."),
])
def test_workspace_paths_that_escape_the_folder_are_refused(tmp_path, key, value):
    root = _ws_with(tmp_path, **{key: value})
    with pytest.raises(WorkspaceError, match="outside the workspace folder") as exc:
        load_workspace(root)
    assert value in str(exc.value) and "gridwatch.toml" in str(exc.value)


def test_workspace_paths_inside_the_folder_or_absolute_are_kept(tmp_path):
    elsewhere = str(tmp_path / "shared" / "addr.csv")
    root = _ws_with(tmp_path, gazetteer="raw/./addr.csv", grids="sub/../grids.geojson", roads=elsewhere)
    ws = load_workspace(root)
    assert ws.paths["gazetteer"] == ws.root / "raw/./addr.csv"
    assert os.path.normpath(ws.paths["grids"]) == str(ws.root / "grids.geojson")
    assert ws.paths["roads"] == Path(elsewhere)  # an absolute path is the administrator's explicit choice


def test_a_carriage_return_inside_a_cell_cannot_start_a_new_spreadsheet_row(tmp_path):
    # Python's csv module left a bare CR unquoted with '\n' rows: 'a\r=1+1' became two rows,
    # the second starting with a live formula
    df = pd.DataFrame({"text": ["note\r=1+1", "x\n@SUM(A1)", "ok"], "n": [1, 2, 3]})
    out = pd.read_csv(write_table(df, tmp_path / "t.csv"), encoding="utf-8-sig", dtype=str)
    assert out["text"].tolist() == df["text"].tolist() and out["n"].tolist() == ["1", "2", "3"]
    raw = pd.DataFrame({"_row": [2, 3], "描述": ["a\r=1+1", "b"]})
    q = read_quarantine(write_quarantine(quarantine_frame(raw, raw.index, "time_missing", "m", None, "f.csv"),
                                         tmp_path / "q.csv"))
    assert q["描述"].tolist() == ["a\r=1+1", "b"]
