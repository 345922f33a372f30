"""The intake page shows the mapping it will use and lets the user change a field's column before ingesting."""

from __future__ import annotations

from pathlib import Path

from geo.store.database import connect
from geo.store.workspace import load_workspace
from tests.app import test_app
from tests.app.test_app import metrics, new_app, number, ok

workspace = test_app.workspace  # the app tests' module-scoped workspace fixture

CSV = ("巡查时间,问题类型,事件类型,经度,纬度\n" + "\n".join(
    f"2024-03-{10 + i:02d} 08:30:00,{'占道经营' if i % 2 else '乱停车'},暴露垃圾,{116.360 + i * 0.002:.3f},39.910"
    for i in range(4)) + "\n")


def _mapping_table(at):  # type: ignore[no-untyped-def]
    return next(df.value for df in at.dataframe if "字段代码" in df.value.columns)


def test_intake_shows_the_mapping_and_a_changed_column_is_ingested(workspace: Path) -> None:
    at = new_app("app_pages/intake.py", user="admin")
    at.file_uploader(key="in_file").set_value(("two_categories.csv", CSV.encode("utf-8"), "text/csv")).run()
    ok(at)
    table = _mapping_table(at).set_index("字段代码")
    assert table.loc["category_raw", "文件中的列"] == "问题类型"
    assert table.loc["category_raw", "判定方式"] == "按列名"
    assert table.loc["category_raw", "次选列"] == "事件类型"  # the runner-up is named
    assert any("试导入" in i.value and "将入库 4" in i.value for i in at.info)  # dry run counts, nothing written

    at.selectbox(key="in_col_category_raw").set_value("事件类型").run()
    ok(at)
    table = _mapping_table(at).set_index("字段代码")
    assert table.loc["category_raw", "文件中的列"] == "事件类型"
    assert table.loc["category_raw", "判定方式"] == "映射文件"
    at.button(key="in_go").click().run()
    ok(at)
    assert number(metrics(at)["入库"]) == 4
    with connect(load_workspace(workspace).store_path, read_only=True) as con:
        raw = con.execute("SELECT DISTINCT category_raw FROM events WHERE source_file = 'two_categories.csv'"
                          ).fetchall()
    assert raw == [("暴露垃圾",)]


def test_intake_stops_on_an_unsafe_mapping_and_offers_the_mapping_file(workspace: Path) -> None:
    csv = "巡查时间,备注,经度,纬度\n" + "".join(
        f"2024-03-1{i} 09:00,门前堆物,116.37{i},39.91\n" for i in range(3))
    at = new_app("app_pages/intake.py", user="admin")
    at.file_uploader(key="in_file").set_value(("no_category.csv", csv.encode("utf-8"), "text/csv")).run()
    assert not at.exception
    assert any("无法安全地确定列映射" in e.value for e in at.error)
    assert any("category_raw" in c.value and "CHOOSE" in c.value for c in at.code)
    assert at.button(key="in_go").disabled
    at.selectbox(key="in_col_category_raw").set_value("备注").run()
    ok(at)
    assert not at.button(key="in_go").disabled
    assert any("将入库 3" in i.value for i in at.info)
