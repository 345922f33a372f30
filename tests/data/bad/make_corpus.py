"""Regenerate the bad-input corpus of tests/test_ingest.py (deterministic).

Run: python tests/data/bad/make_corpus.py
Each file is one kind of trouble a real export has; EXPECTED (in test_ingest.py)
says where every row must land.  Points are inside the Xicheng sample area.
"""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent
# Points inside Xicheng (WGS84), on the sample's roads' neighbourhood.
P = [(116.3650, 39.9120), (116.3700, 39.9150), (116.3580, 39.8990), (116.3800, 39.9300), (116.3520, 39.9050)]
HDR = "编号,巡查时间,经度,纬度,问题类型,问题描述,处置状态"


def row(i: int, t: str = "2024-03-05 08:30:00", lon: object = None, lat: object = None,
        cat: str = "占道经营", text: str = "出店经营", status: str = "已处置", rid: str | None = None) -> str:
    x, y = P[i % len(P)]
    lon = f"{x:.6f}" if lon is None else lon
    lat = f"{y:.6f}" if lat is None else lat
    return ",".join([rid or f"R{i:03d}", t, str(lon), str(lat), cat, text, status])


def write(name: str, lines: list[str], encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(("\n".join(lines) + "\n").encode(encoding))


def main() -> None:
    write("empty.csv", [])
    (HERE / "empty.csv").write_bytes(b"")
    write("header_only.csv", [HDR])
    write("semicolon.csv", [HDR.replace(",", ";")] + [row(i).replace(",", ";") for i in range(4)])
    write("gbk.csv", [HDR] + [row(i, text="居民反映门口有人占道摆摊") for i in range(5)], encoding="gbk")
    (HERE / "bom.csv").write_bytes(("\ufeff" + "\n".join([HDR] + [row(i) for i in range(3)]) + "\n").encode("utf-8"))
    write("mixed_dates.csv", [HDR, row(0, "2024-03-05 08:30:00"), row(1, "2024/3/5 8:30"),
                              row(2, "2024年3月5日 8时30分"), row(3, "2024-03-05T08:30"), row(4, "20240305083000")])
    write("excel_serial.csv", [HDR, row(0, "45356.5"), row(1, "45356.354166667"), row(2, "1709598600")])
    write("missing_time_column.csv", ["编号,经度,纬度,问题类型", "R1,116.365,39.912,占道经营"])
    write("bad_coordinates.csv", [HDR, row(0, lon="", lat=""), row(1, lon="0", lat="0"),
                                  row(2, lon="abc", lat="39.9"), row(3, lon="216.3", lat="139.9"),
                                  row(4, lon="121.47", lat="31.23"), row(5)])
    write("swapped.csv", [HDR, row(0, lon=f"{P[0][1]:.6f}", lat=f"{P[0][0]:.6f}"), row(1)])
    write("duplicates.csv", [HDR, row(0), row(0), row(1), row(1, rid="R000", text="另一件事"), row(2)])
    write("duplicates_again.csv", [HDR, row(0), row(2), row(3)])
    write("formula.csv", [HDR, row(0, text='"=HYPERLINK(""http://x"",""点我"")"'), row(1, text="+1+2"),
                          row(2, text="@SUM(A1)")])
    write("long_text.csv", [HDR, row(0, text="很长的描述" * 1000)])
    write("unknown_category.csv", [HDR, row(0, cat="外星人着陆"), row(1, cat="违章停车"), row(2, cat="")])
    write("ragged.csv", [HDR, row(0), row(1) + ",多余字段,又一个", "R9,2024-03-05 08:30:00,116.36", row(3)])
    write("bad_times.csv", [HDR, row(0, "2024-02-30 08:00"), row(1, "25:61"), row(2, "未知"), row(3, ""),
                            row(4, "2099-01-01 00:00"), row(5, "1999-12-31 23:00"), row(6)])
    write("fullwidth.csv", [HDR, row(0, "２０２４-０３-０５ ０８:３０", lon="１１６.３６５０", lat="３９.９１２０"),
                            row(1, t="  2024-03-05 09:00  ", cat="  占道经营  ")])
    (HERE / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    # GeoJSON with a null geometry and a declared GCJ-02 CRS member
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [P[i][0], P[i][1]]},
              "properties": {"上报时间": "2024-03-05 10:00", "问题类别": "井盖损坏"}} for i in range(3)]
    feats.append({"type": "Feature", "geometry": None, "properties": {"上报时间": "2024-03-05 10:00",
                                                                      "问题类别": "井盖损坏"}})
    (HERE / "null_geometry.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                                                           ensure_ascii=False), encoding="utf-8")
    # XLSX with real date cells, text dates and a formula cell (never evaluated)
    from datetime import datetime
    wb = Workbook()
    ws = wb.active
    ws.title = "违法记录"
    ws.append(["违法时间", "经度", "纬度", "违法行为", "号牌号码"])
    ws.append([datetime(2024, 3, 5, 8, 30), P[0][0], P[0][1], "闯红灯", "京A12345"])
    ws.append(["2024/3/5 17:45", P[1][0], P[1][1], "逆行", "京AD12345"])
    ws.append([45356.75, P[2][0], P[2][1], "违法停车", None])
    ws.append(["=NOW()", P[3][0], P[3][1], "闯红灯", "冀B54321"])
    wb.properties.created = datetime(2024, 1, 1)
    wb.properties.modified = datetime(2024, 1, 1)
    wb.save(HERE / "dates.xlsx")


if __name__ == "__main__":
    main()
