"""A zoo of export layouts, written from the public documentation of real open-data portals.

Each :class:`Layout` writes a small file with the portal's column names and
usual quirks, and says what a correct ingest gives: the mapping (field →
source columns), the counts, or the ambiguity an auto-detection must stop on.
Values are invented; headers and formats follow the portals' data
dictionaries:

- NYC 311 Service Requests (Socrata, data.cityofnewyork.us ``erm2-nwe9``);
- a US police incident export (Seattle/SF style: a UTC instant beside local
  date and hour columns, several category-like columns);
- SF Police incident reports' ``Point`` column (``POINT (lon lat)``);
- data.police.uk street-level crime CSV (``Crime ID``, ``Month``, ``Crime type``)
  and its easting/northing variant in EPSG:27700;
- City of Melbourne / Toronto open data (semicolons, comma decimals,
  day-first dates, separate date and time, no id);
- Toronto 311 (no coordinates at all);
- Chinese 12345 / 城管 / 交管 exports (title rows, 合计 footer, full-width
  digits, a 经纬度 column, ``2024年3月1日 上午8时``, GB18030 / Big5 / UTF-16).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# study areas (bbox, time zone) the layouts' points fall in
PLACES: dict[str, tuple[tuple[float, float, float, float], str]] = {
    "beijing": ((116.30, 39.86, 116.45, 39.96), "Asia/Shanghai"),
    "nyc": ((-74.26, 40.49, -73.70, 40.92), "America/New_York"),
    "sf": ((-122.52, 37.70, -122.35, 37.83), "America/Los_Angeles"),
    "london": ((-0.25, 51.45, 0.05, 51.58), "Europe/London"),
    "melbourne": ((144.90, -37.86, 145.00, -37.77), "Australia/Melbourne"),
    "taipei": ((121.45, 25.00, 121.62, 25.10), "Asia/Taipei"),
}


@dataclass
class Layout:
    """One export layout and what a correct ingest of it gives.

    ``mapping`` is the expected field → source columns; ``counts`` is
    ``(read, stored, duplicates, quarantined)``; ``stops`` is a text the
    :class:`~geo.ingest.mapping.MappingError` must contain (then ``counts``
    applies to the ingest with ``mapping_toml``).
    """

    name: str
    place: str
    source: str
    write: Callable[[Path], Path]
    mapping: dict[str, list[str]]
    counts: tuple[int, int, int, int]
    crs: str = "WGS84"
    stops: str | None = None
    mapping_toml: str | None = None
    by_reason: dict[str, int] = field(default_factory=dict)
    first_local: str | None = None   # expected local occurred_at of the first stored row (ISO, minutes)


def _csv(path: Path, rows: list[list[str]], *, sep: str = ",", encoding: str = "utf-8") -> Path:
    text = "\n".join(sep.join(r) for r in rows) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


# --------------------------------------------------------------------------- writers

def nyc311(d: Path) -> Path:
    head = ["Unique Key", "Created Date", "Closed Date", "Agency", "Complaint Type", "Descriptor",
            "Incident Zip", "Incident Address", "City", "Status", "Latitude", "Longitude", "Location"]
    rows = [head]
    for i in range(12):
        lat, lon = 40.70 + i * 0.01, -73.99 + i * 0.005
        hh = 1 + i % 12
        rows.append([str(59000000 + i), f"03/{i + 1:02d}/2024 {hh:02d}:15:00 {'PM' if i % 2 else 'AM'}",
                     "", "NYPD", ["Noise - Residential", "Illegal Parking", "Blocked Driveway"][i % 3],
                     "Loud Music/Party", "10001", f"{100 + i} WEST 42 STREET", "NEW YORK", "Closed",
                     f"{lat:.6f}", f"{lon:.6f}", f'"({lat:.6f}, {lon:.6f})"'])
    return _csv(d / "nyc311.csv", rows)


def police_utc(d: Path) -> Path:
    """UTC instant + local date/hour; a street-suffix ``Type`` column before the offence category."""
    head = ["Report Number", "Offense Start DateTime UTC", "Date", "Hour", "Type", "Offense Category",
            "Offense", "Block Address", "Latitude", "Longitude"]
    rows = [head]
    for i in range(24):
        utc_h = (i + 17) % 24  # 17:00Z = 13:00 EDT on 2024-03-11+
        day = 11 + i // 8
        local_day = day if utc_h >= 4 else day - 1
        rows.append([f"2024-{900000 + i}", f"2024-03-{day:02d}T{utc_h:02d}:30:00Z", f"2024-03-{local_day:02d}",
                     str((utc_h - 4) % 24), ["ST", "AV", "DR", "RD"][i % 4],
                     ["PROPERTY CRIME", "PUBLIC ORDER"][i % 2], "THEFT", f"{i}XX BLOCK OF MAIN ST",
                     f"{40.72 + i * 0.002:.5f}", f"{-73.98 + i * 0.002:.5f}"])
    return _csv(d / "police_utc.csv", rows)


def sf_point(d: Path) -> Path:
    head = ["Row ID", "Incident Datetime", "Incident Date", "Incident Time", "Incident Category",
            "Incident Description", "Intersection", "Point"]
    rows = [head]
    for i in range(10):
        lon, lat = -122.42 + i * 0.003, 37.76 + i * 0.002
        rows.append([f"{1200000 + i}", f"2024/03/{i + 1:02d} {1 + i % 12:02d}:05:00 PM", f"2024/03/{i + 1:02d}",
                     f"{13 + i % 11}:05", ["Larceny Theft", "Vandalism"][i % 2], "Theft From Vehicle",
                     "MISSION ST \\ 16TH ST", f"POINT ({lon:.6f} {lat:.6f})"])
    return _csv(d / "sf_point.csv", rows)


def uk_street_crime(d: Path) -> Path:
    """data.police.uk: ``Month`` only (no day), ids empty for anti-social behaviour."""
    head = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
            "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
    rows = [head]
    for i in range(10):
        asb = i % 3 == 0
        rows.append(["" if asb else f"{'ab' * 8}{i:048x}"[:64], "2024-03", "Metropolitan Police Service",
                     "Metropolitan Police Service", f"{-0.13 + i * 0.004:.6f}", f"{51.50 + i * 0.003:.6f}",
                     "On or near Baker Street", "E01000001", "City of London 001A",
                     "Anti-social behaviour" if asb else "Vehicle crime",
                     "" if asb else "Investigation complete; no suspect identified", ""])
    return _csv(d / "uk_street_crime.csv", rows)


def uk_easting(d: Path) -> Path:
    head = ["Crime ID", "Date", "Time", "Easting", "Northing", "Location", "Crime type"]
    rows = [head]
    for i in range(8):
        rows.append([f"UK{i:06d}", f"{10 + i}/03/2024", f"{8 + i}:45", str(529000 + i * 150),
                     str(180500 + i * 120), "On or near Oxford Street", ["Burglary", "Robbery"][i % 2]])
    return _csv(d / "uk_easting.csv", rows)


def melbourne(d: Path) -> Path:
    """Semicolons, comma decimals, day-first date and a separate time, no id (southern hemisphere)."""
    head = ["Date Received", "Time Received", "Category", "Sub Category", "Suburb", "Latitude", "Longitude"]
    rows = [head]
    for i in range(12):
        rows.append([f"{13 + i:02d}/03/2024", f"{7 + i}:10", ["Graffiti", "Dumped rubbish"][i % 2], "Public property",
                     "Carlton", f"{-37.80 - i * 0.003:.4f}".replace(".", ","),
                     f"{144.96 + i * 0.002:.4f}".replace(".", ",")])
    rows.append(rows[1])  # an exact repeat: a duplicate
    return _csv(d / "melbourne.csv", rows, sep=";")


def toronto311(d: Path) -> Path:
    head = ["Creation Date", "Status", "First 3 Chars of Postal Code", "Intersection Street 1",
            "Intersection Street 2", "Ward", "Service Request Type", "Division", "Section"]
    rows = [head] + [[f"2024-03-0{i + 1} 10:0{i}:00.000", "Closed", "M5V", "KING ST W", "SPADINA AVE",
                      "Spadina-Fort York (10)", "Road - Pot hole", "Transportation Services", "Road Ops"]
                     for i in range(6)]
    return _csv(d / "toronto311.csv", rows)


def hotline_12345_xlsx(d: Path) -> Path:
    """Two title rows, a 合计 footer, full-width digits in a time; one sheet per month plus a 说明 sheet."""
    rows: list[list[object]] = [["西城区2024年3月12345工单明细"], ["导出时间：2024-04-01"],
                                ["工单编号", "来电时间", "诉求类别", "诉求内容", "诉求地址", "经度", "纬度"]]
    for i in range(9):
        t = f"2024-03-{i + 1:02d} {8 + i}:30:00"
        if i == 4:
            t = "２０２４－０３－０５ １２：３０：００"
        rows.append([f"GD2024{i:05d}", t, ["占道经营", "噪音扰民", "乱停车"][i % 3], "群众反映",
                     "西城区西长安街", 116.37 + i * 0.002, 39.90 + i * 0.001])
    rows.append(["合计", "", "", "", "", None, None])
    april: list[list[object]] = [["西城区2024年4月12345工单明细"], rows[2]]
    for i in range(3):
        april.append([f"GD2024{100 + i:05d}", f"2024-04-{i + 1:02d} 10:00:00", "噪音扰民", "群众反映", "西城区西单北大街",
                      116.372 + i * 0.002, 39.905])
    april.append(["小计", 3, "", "", "", None, None])
    notes = [["说明"], ["坐标系", "WGS84"], ["导出单位", "西城区12345"]]
    return _xlsx(d / "hotline_12345.xlsx", {"3月": rows, "4月": april, "说明": notes})


def chengguan_gb18030(d: Path) -> Path:
    """城管巡查: GB18030, a single 经纬度 column, ``2024年3月1日 上午8时``, full-width digits."""
    head = ["案卷编号", "发现时间", "问题类型", "问题描述", "经纬度"]
    rows = [head]
    for i in range(10):
        half = "上午" if i % 2 == 0 else "下午"
        lon, lat = 116.36 + i * 0.003, 39.90 + i * 0.002
        pair = f'"{lon:.5f},{lat:.5f}"' if i != 3 else f'"{lon:.5f}，{lat:.5f}"'.translate(
            str.maketrans("0123456789.", "０１２３４５６７８９．"))
        rows.append([f"CG{i:04d}", f"2024年3月{i + 1}日 {half}{8 + i % 4}时", ["暴露垃圾", "乱堆物料"][i % 2],
                     "巡查发现", pair])
    return _csv(d / "chengguan.csv", rows, encoding="gb18030")


def chengguan_two_row_header(d: Path) -> Path:
    """城管案卷 workbook: a title, a merged two-row header (时间 | 位置 over their parts), a 小计 row."""
    rows: list[list[object]] = [["西城区城市管理委员会 案卷明细（2024年3月）"],
                                ["案卷编号", "发现时间", "问题类型", "位置", None],
                                [None, None, None, "经度", "纬度"]]
    for i in range(5):
        rows.append([f"AJ{i:04d}", f"2024-03-{i + 2:02d} 0{i + 1}:15", "暴露垃圾", 116.38 + i * 0.002, 39.91])
    rows.append(["小计", "5件", None, None, None])
    return _xlsx(d / "chengguan_cases.xlsx", {"3月": rows})


def jiaoguan_utf16(d: Path) -> Path:
    """交管违法: UTF-16 with BOM, tab separated, Excel serial dates."""
    head = ["违法编号", "违法时间", "违法行为", "违法地点", "经度", "纬度"]
    rows = [head]
    for i in range(8):
        serial = 45352 + i + 0.375  # 2024-03-01 09:00 + i days
        rows.append([f"JG{i:05d}", f"{serial:.6f}", "机动车违反规定停放", "西城区平安里西大街",
                     f"{116.37 + i * 0.001:.6f}", f"{39.93 - i * 0.001:.6f}"])
    return _csv(d / "jiaoguan.txt", rows, sep="\t", encoding="utf-16")


def taipei_big5(d: Path) -> Path:
    """Taipei 1999 hotline in Big5 with traditional headers: read through a mapping file."""
    head = ["案件編號", "受理日期", "受理時間", "案件類別", "案件地址", "經度", "緯度"]
    rows = [head]
    for i in range(6):
        rows.append([f"TP{i:05d}", f"2024/03/{i + 1:02d}", f"{9 + i}:00", ["違規停車", "噪音"][i % 2], "臺北市中正區",
                     f"{121.51 + i * 0.002:.6f}", f"{25.04 + i * 0.001:.6f}"])
    return _csv(d / "taipei.csv", rows, encoding="big5")


def district_id(d: Path) -> Path:
    """A column named ``ID`` holding district codes (few values): not a record id."""
    head = ["ID", "巡查时间", "问题类型", "经度", "纬度"]
    rows = [head] + [[f"D{i % 3}", f"2024-03-{1 + i % 28:02d} {8 + i % 10}:00", ["占道经营", "乱停车"][i % 2],
                      f"{116.36 + i * 0.001:.6f}", f"{39.90 + i * 0.0005:.6f}"] for i in range(30)]
    return _csv(d / "district_id.csv", rows)


def no_category(d: Path) -> Path:
    """A noise-only export with no category column: a constant category through the mapping file."""
    head = ["Created Date", "Incident Address", "Latitude", "Longitude"]
    rows = [head] + [[f"2024-03-{i + 1:02d}T22:{i:02d}:00-05:00", f"{i} BROADWAY", f"{40.75 + i * 0.001:.6f}",
                      f"{-73.99 + i * 0.001:.6f}"] for i in range(5)]
    return _csv(d / "no_category.csv", rows)


def split_category(d: Path) -> Path:
    """Category split over two columns (type / subtype), joined by the mapping file; AM/PM, month names."""
    head = ["Request Number", "Date", "Request Category", "Request Subcategory", "Lat", "Lng"]
    rows = [head] + [[f"R{i}", f'"Mar {i + 1}, 2024 {1 + i % 11}:00 PM"', "Streets", ["Pothole", "Signage"][i % 2],
                      f"{-37.81 - i * 0.001:.5f}", f"{144.95 + i * 0.001:.5f}"] for i in range(6)]
    return _csv(d / "split_category.csv", rows)


LAYOUTS: list[Layout] = [
    Layout("nyc311", "nyc", "hotline", nyc311,
           {"source_id": ["Unique Key"], "occurred_at": ["Created Date"], "category_raw": ["Complaint Type"],
            "text": ["Descriptor"], "address": ["Incident Address"], "lon": ["Longitude"], "lat": ["Latitude"],
            "status": ["Status"]},
           (12, 12, 0, 0), first_local="2024-03-01T01:15"),
    Layout("police_utc", "nyc", "violation", police_utc,
           {"source_id": ["Report Number"], "occurred_at": ["Offense Start DateTime UTC"],
            "category_raw": ["Offense Category"], "lon": ["Longitude"], "lat": ["Latitude"]},
           (24, 24, 0, 0), first_local="2024-03-11T13:30"),
    Layout("sf_point", "sf", "violation", sf_point,
           {"occurred_at": ["Incident Datetime"], "category_raw": ["Incident Category"],
            "lon": ["Point"], "lat": ["Point"]},
           (10, 10, 0, 0), first_local="2024-03-01T13:05"),
    Layout("uk_street_crime", "london", "violation", uk_street_crime,
           {"occurred_at": ["Month"], "category_raw": ["Crime type"], "lon": ["Longitude"], "lat": ["Latitude"]},
           (10, 10, 0, 0), stops="occurred_at",
           mapping_toml='[columns]\noccurred_at = "Month"\nsource_id = "Crime ID"\n'
                        '[options]\ntime_format = "%Y-%m"\n'),
    Layout("uk_easting", "london", "violation", uk_easting,
           {"source_id": ["Crime ID"], "occurred_at": ["Date", "Time"], "category_raw": ["Crime type"],
            "lon": ["Easting"], "lat": ["Northing"]},
           (8, 8, 0, 0), stops="EPSG:27700", mapping_toml='[options]\ncrs = "EPSG:27700"\n',
           first_local="2024-03-10T08:45"),
    Layout("melbourne", "melbourne", "hotline", melbourne,
           {"occurred_at": ["Date Received", "Time Received"], "category_raw": ["Category"],
            "lon": ["Longitude"], "lat": ["Latitude"]},
           (13, 12, 1, 0), first_local="2024-03-13T07:10"),
    Layout("toronto311", "nyc", "hotline", toronto311,
           {"occurred_at": ["Creation Date"], "category_raw": ["Service Request Type"]},
           (6, 0, 0, 0), stops="no location"),
    Layout("hotline_12345_xlsx", "beijing", "hotline", hotline_12345_xlsx,
           {"source_id": ["工单编号"], "occurred_at": ["来电时间"], "category_raw": ["诉求类别"], "text": ["诉求内容"],
            "address": ["诉求地址"], "lon": ["经度"], "lat": ["纬度"]},
           (14, 12, 0, 2), by_reason={"footer_row": 2}, first_local="2024-03-01T08:30"),
    Layout("chengguan_gb18030", "beijing", "patrol", chengguan_gb18030,
           {"source_id": ["案卷编号"], "occurred_at": ["发现时间"], "category_raw": ["问题类型"], "text": ["问题描述"],
            "lon": ["经纬度"], "lat": ["经纬度"]},
           (10, 10, 0, 0), first_local="2024-03-01T08:00"),
    Layout("chengguan_two_row_header", "beijing", "patrol", chengguan_two_row_header,
           {"source_id": ["案卷编号"], "occurred_at": ["发现时间"], "category_raw": ["问题类型"], "lon": ["经度"],
            "lat": ["纬度"]},
           (6, 5, 0, 1), by_reason={"footer_row": 1}, first_local="2024-03-02T01:15"),
    Layout("jiaoguan_utf16", "beijing", "violation", jiaoguan_utf16,
           {"source_id": ["违法编号"], "occurred_at": ["违法时间"], "category_raw": ["违法行为"], "address": ["违法地点"],
            "lon": ["经度"], "lat": ["纬度"]},
           (8, 8, 0, 0), first_local="2024-03-01T09:00"),
    Layout("taipei_big5", "taipei", "hotline", taipei_big5,
           {"source_id": ["案件編號"], "occurred_at": ["受理日期", "受理時間"], "category_raw": ["案件類別"],
            "lon": ["經度"], "lat": ["緯度"]},
           (6, 6, 0, 0), stops="big5",
           mapping_toml='[columns]\nsource_id = "案件編號"\noccurred_at = ["受理日期", "受理時間"]\n'
                        'category_raw = "案件類別"\naddress = "案件地址"\nlon = "經度"\nlat = "緯度"\n'
                        '[options]\nencoding = "big5"\ntimezone = "Asia/Taipei"\n',
           first_local="2024-03-01T09:00"),
    Layout("district_id", "beijing", "patrol", district_id,
           {"occurred_at": ["巡查时间"], "category_raw": ["问题类型"], "lon": ["经度"], "lat": ["纬度"]},
           (30, 30, 0, 0)),
    Layout("no_category", "nyc", "hotline", no_category,
           {"occurred_at": ["Created Date"], "address": ["Incident Address"], "lon": ["Longitude"],
            "lat": ["Latitude"]},
           (5, 5, 0, 0), stops="category_raw",
           mapping_toml='[constants]\ncategory_raw = "noise"\n', first_local="2024-03-01T22:00"),
    Layout("split_category", "melbourne", "hotline", split_category,
           {"source_id": ["Request Number"], "occurred_at": ["Date"], "category_raw": ["Request Category", "Request Subcategory"],
            "lon": ["Lng"], "lat": ["Lat"]},
           (6, 6, 0, 0),
           mapping_toml='[columns]\ncategory_raw = ["Request Category", "Request Subcategory"]\n',
           first_local="2024-03-01T13:00"),
]
"""The zoo, one entry per layout."""
