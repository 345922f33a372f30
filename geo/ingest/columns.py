"""Canonical input fields, header synonyms and mapping files.

Exports name the same thing many ways: 巡查时间 / 受理时间 / 违法时间 /
``Created Date`` are all the event time.  :func:`map_columns` finds, for each
canonical field, the file's column by a synonym table (Chinese and English;
insensitive to case, spaces, underscores, hyphens, full-width characters and
bracketed suffixes such as ``经度(WGS84)``), with per-source preferences where
one file can hold several candidates (a hotline export has 来电时间 *and*
受理时间: the call time is the event time).

Content-based choice between candidates and the composition of joined
columns, constants and location columns live in :mod:`geo.ingest.mapping`.
A mapping file (TOML) overrides or completes the detection when headers are
unusual::

    [columns]
    occurred_at = "CreatedDate"      # or ["Date", "Time"]: several columns joined
    category_raw = "Problem"         # or ["Type", "Subtype"]: joined with " / "
    address = ""            # empty: do not use any column for this field
    location = "Location"   # one column holding both coordinates

    [constants]
    category_raw = "noise"  # one value for every row

    [options]
    crs = "GCJ02"
    time_format = "%d/%m/%Y %H:%M"
    encoding = "gb18030"
    delimiter = ";"
    sheet = "Sheet1"
    source = "hotline"
    timezone = "America/New_York"
    location_order = "lat,lon"

    [categories]
    "Illegal Parking" = "illegal_parking"
"""

from __future__ import annotations

import codecs
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from geo.errors import InputFileError
from geo.ingest.textnorm import normalize_scalar
from geo.settings import SOURCES

__all__ = [
    "FIELDS", "REQUIRED", "FIELD_LABELS", "SYNONYMS", "SOURCE_SYNONYMS", "ColumnMapping",
    "Mapping", "map_columns", "load_mapping", "header_key", "synonyms_for",
]

FIELDS: tuple[str, ...] = (
    "source_id", "occurred_at", "lon", "lat", "category_raw", "text", "address", "status",
    "closed_at", "action", "reporter", "patrol_mode", "phone", "id_number", "plate",
    "vehicle_type",
)
"""Canonical input fields, in the order they are matched."""

REQUIRED: tuple[str, ...] = ("occurred_at", "category_raw")
"""Always required; in addition ``lon`` and ``lat``, or ``address``."""

FIELD_LABELS: dict[str, str] = {
    "source_id": "record id (编号)", "occurred_at": "event time (时间)",
    "lon": "longitude (经度)", "lat": "latitude (纬度)", "category_raw": "problem category (类别)",
    "text": "description (描述/内容)", "address": "address (地址)", "status": "status (状态)",
    "closed_at": "close-out time (办结时间)", "action": "action taken (处置措施)",
    "reporter": "reporter (巡查人员/上报人)", "patrol_mode": "patrol mode (巡查方式)",
    "phone": "phone number (电话)", "id_number": "ID number (身份证号)",
    "plate": "plate number (号牌号码)", "vehicle_type": "vehicle type (车辆类型)",
}

# Earlier synonyms win when several columns match one field.  Keep the lists
# disjoint across fields (tests check it).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "source_id": (
        "记录编号", "工单编号", "工单号", "违法编号", "上报编号", "事件编号", "案件编号", "案卷编号",
        "诉求编号", "记录号", "编号", "ID", "record_id", "case_id", "caseid", "case_number",
        "unique_key", "service_request_id", "service_request_number", "sr_number", "request_id",
        "ticket_id", "event_id", "incident_id", "objectid", "crime_id", "report_number", "incident_number",
        "request_number",
    ),
    "occurred_at": (
        "发生时间", "事发时间", "巡查时间", "发现时间", "来电时间", "受理时间", "违法时间", "上报时间",
        "拍摄时间", "登记时间", "创建时间", "立案时间", "时间", "日期时间", "日期",
        "occurred_at", "occurred", "created_date", "created", "created_at", "createddate",
        "opened", "open_date", "requested_datetime", "request_date", "reported_date",
        "date_time", "datetime", "timestamp", "time", "date",
    ),
    "lon": (
        "_geom_lon", "经度", "经度坐标", "X坐标", "lng", "lon", "long", "longitude", "x",
        "point_x", "gps_lon", "gps_lng",
    ),
    "lat": (
        "_geom_lat", "纬度", "纬度坐标", "Y坐标", "lat", "latitude", "y", "point_y", "gps_lat",
    ),
    "category_raw": (
        "问题类型", "诉求类别", "诉求分类", "违法行为", "违法类型", "问题类别", "问题分类", "事件类型",
        "事件类别", "案件类型", "案件类别", "类别", "类型", "分类", "complaint_type", "category",
        "problem_type", "issue_type", "request_type", "service_name", "sr_type", "incident_type",
        "type", "crime_type", "offense_category", "offence_category", "incident_category", "primary_type",
        "service_request_type",
    ),
    "text": (
        "问题描述", "诉求内容", "事件描述", "案件描述", "情况描述", "描述", "内容", "详情", "备注",
        "descriptor", "description", "details", "request_details", "text", "comment", "comments",
        "summary",
    ),
    "address": (
        "诉求地址", "事发地址", "违法地点", "违法地址", "发生地址", "事发地点", "发生地点", "地址",
        "详细地址", "地点", "位置", "incident_address", "address", "street_address",
        "full_address", "location_address", "location",
    ),
    "status": (
        "处置状态", "办理状态", "处理状态", "工单状态", "案件状态", "状态", "status",
        "request_status", "case_status",
    ),
    "closed_at": (
        "办结时间", "处置完成时间", "处理完成时间", "结案时间", "完成时间", "关闭时间", "closed_date",
        "closed", "closed_at", "close_date", "closeddate", "date_closed", "resolved_date",
    ),
    "action": ("处置措施", "处理措施", "处置方式", "处理方式", "处置结果", "action", "action_taken"),
    "reporter": ("巡查人员", "上报人", "巡查人", "上报人员", "检查人员", "执法人员", "reporter", "inspector"),
    "patrol_mode": ("巡查方式", "巡查类型", "巡逻方式", "patrol_mode", "patrol_type"),
    "phone": (
        "来电号码", "联系电话", "手机号", "手机号码", "电话号码", "电话", "联系方式", "phone",
        "phone_number", "telephone", "mobile",
    ),
    "id_number": ("身份证号", "身份证号码", "证件号码", "证件号", "id_number", "id_card"),
    "plate": ("号牌号码", "车牌号", "车牌号码", "车牌", "号牌", "plate", "plate_number", "license_plate"),
    "vehicle_type": ("车辆类型", "号牌种类", "车型", "vehicle_type", "vehicle_class"),
}
"""Header synonyms of each field, most specific first."""

SOURCE_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "patrol": {"occurred_at": ("巡查时间", "发现时间"), "category_raw": ("问题类型", "问题类别")},
    "hotline": {
        "occurred_at": ("来电时间", "受理时间", "创建时间"),
        "category_raw": ("诉求类别", "诉求分类", "问题分类"),
        "text": ("诉求内容",), "address": ("诉求地址", "事发地址"),
        "source_id": ("工单编号", "工单号"),
    },
    "violation": {
        "occurred_at": ("违法时间",), "address": ("违法地点", "违法地址"),
        "category_raw": ("违法行为", "违法类型"), "source_id": ("违法编号",),
    },
    "snapshot": {"occurred_at": ("拍摄时间", "上报时间"), "source_id": ("上报编号",)},
    "grid_event": {"occurred_at": ("发生时间", "上报时间", "立案时间")},
}
"""Per-source synonyms tried before the general ones (their priority order)."""

_SEPARATORS = re.compile(r"[\s_\-.·/\\:：]+")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|<[^>]*>")


def header_key(header: str) -> tuple[str, str]:
    """Comparison keys of a header: full, and without bracketed suffixes.

    Full-width → half-width (NFKC), case-folded, with spaces, underscores,
    hyphens, dots and colons removed: ``"Created Date"``, ``"created_date"``
    and ``"ＣｒｅａｔｅｄＤａｔｅ"`` all give ``"createddate"``; ``"经度（WGS84）"``
    gives ``("经度wgs84", "经度")``.
    """
    text = unicodedata.normalize("NFKC", str(header)).replace("\ufeff", "").casefold()
    full = _SEPARATORS.sub("", text)
    base = _SEPARATORS.sub("", _BRACKETED.sub("", text))
    return full, base or full


def synonyms_for(field_name: str, source: str | None = None) -> tuple[str, ...]:
    """Synonyms tried for ``field_name`` (per-source ones first)."""
    first = SOURCE_SYNONYMS.get(source or "", {}).get(field_name, ())
    return tuple(dict.fromkeys(first + SYNONYMS[field_name]))


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file (see the module docstring for the format).

    ``columns`` maps canonical fields to the file's headers (``""`` disables a
    field); ``composed`` maps a field to several headers joined (date + time
    for a time, ``" / "`` between the parts of a category or text);
    ``constants`` gives a field one value for every row; ``location`` names a
    single column holding both coordinates (``"(lat, lon)"``, ``"POINT (lon
    lat)"``, ``"116.36,39.91"``) read in ``location_order`` (``"lon,lat"`` or
    ``"lat,lon"``; default: detected); ``timezone`` is the IANA zone of the
    file's local times; ``categories`` maps normalised raw category values to
    codes.
    """

    columns: dict[str, str] = field(default_factory=dict)
    crs: str | None = None
    composed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    location: str | None = None
    location_order: str | None = None
    timezone: str | None = None
    time_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | int | None = None
    source: str | None = None
    categories: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


@dataclass
class ColumnMapping:
    """Which original column holds each canonical field.

    Attributes
    ----------
    fields
        Canonical field → original header, for the fields found.
    unmapped
        Original headers not used by any field (kept by the pipeline as extras).
    ambiguous
        Field → every header that matched it, the chosen one first (chosen by
        synonym priority, then full over bracket-stripped match, then column
        order).
    source
        The source the synonyms were chosen for.
    from_mapping
        Fields set by a mapping file rather than detected.
    """

    fields: dict[str, str]
    unmapped: list[str]
    ambiguous: dict[str, list[str]]
    source: str
    from_mapping: tuple[str, ...] = ()

    def header(self, field_name: str) -> str | None:
        """The original header of ``field_name``, or ``None``."""
        return self.fields.get(field_name)

    def rename_map(self) -> dict[str, str]:
        """Original header → canonical field, for ``DataFrame.rename(columns=...)``."""
        return {h: f for f, h in self.fields.items()}

    @property
    def has_coordinates(self) -> bool:
        return "lon" in self.fields and "lat" in self.fields

    def describe(self) -> str:
        """A human-readable summary (one line per field), for ingest reports."""
        lines = []
        for f in FIELDS:
            if f in self.fields:
                how = "mapping file" if f in self.from_mapping else "detected"
                extra = ""
                if f in self.ambiguous:
                    others = [h for h in self.ambiguous[f] if h != self.fields[f]]
                    extra = f"; also matched {', '.join(repr(h) for h in others)} (not used)"
                lines.append(f"{f:<13} <- {self.fields[f]!r} ({how}{extra})")
        if self.unmapped:
            lines.append(f"not used: {', '.join(repr(h) for h in self.unmapped)}")
        return "\n".join(lines)


def _check_source(source: str, file: str | None) -> None:
    if source not in SOURCES:
        raise InputFileError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}",
                             file=file)


def _resolve_header(wanted: str, headers: Sequence[str], field_name: str, file: str | None,
                    mapping_path: Path | None) -> str:
    if wanted in headers:
        return wanted
    keys = {h: header_key(h)[0] for h in headers}
    wk = header_key(wanted)[0]
    hits = [h for h, k in keys.items() if k == wk]
    if hits:
        return hits[0]
    where = f" in {mapping_path}" if mapping_path else ""
    raise InputFileError(
        f"the mapping{where} says {field_name} = {wanted!r}, but the file has no such column; "
        f"its columns are: {', '.join(repr(h) for h in headers)}", file=file)


def map_columns(headers: Sequence[str], source: str, mapping: Mapping | None = None, *,
                file: str | None = None, require: bool = True) -> ColumnMapping:
    """Match a file's headers to the canonical fields.

    Parameters
    ----------
    headers
        The file's column names (``RawTable.columns``; ``_geom_lon``/
        ``_geom_lat`` count as coordinates, ``_row`` is ignored).
    source
        One of :data:`geo.settings.SOURCES`; selects per-source preferences.
    mapping
        Explicit assignments from a mapping file; they win over detection and
        ``""`` switches a field off.
    file
        File name for error messages.
    require
        Check the required fields (``occurred_at``, ``category_raw`` and
        ``lon``+``lat`` or ``address``).

    Raises
    ------
    InputFileError
        A required field is missing (the message lists the file's headers, the
        synonyms tried and the mapping-file fix), or the mapping names a column
        the file does not have.

    Examples
    --------
    >>> m = map_columns(["Unique Key", "Created Date", "Complaint Type", "Incident Address"],
    ...                 "hotline")
    >>> m.fields["occurred_at"], m.fields["address"]
    ('Created Date', 'Incident Address')
    """
    _check_source(source, file)
    headers = [h for h in headers if h != "_row"]
    fields: dict[str, str] = {}
    disabled: set[str] = set()
    used: set[str] = set()
    from_mapping: list[str] = []
    mpath = mapping.path if mapping else None
    for f, wanted in (mapping.columns.items() if mapping else ()):
        if wanted == "":
            disabled.add(f)
            continue
        h = _resolve_header(wanted, headers, f, file, mpath)
        fields[f] = h
        used.add(h)
        from_mapping.append(f)

    keys = {h: header_key(h) for h in headers}
    ambiguous: dict[str, list[str]] = {}
    for f in FIELDS:
        if f in fields or f in disabled:
            continue
        syn_rank: dict[str, int] = {}
        for i, s in enumerate(synonyms_for(f, source)):
            syn_rank.setdefault(header_key(s)[0], i)
        cands = []
        for pos, h in enumerate(headers):
            if h in used:
                continue
            full, base = keys[h]
            if full in syn_rank:
                cands.append((syn_rank[full], 0, pos, h))
            elif base in syn_rank:
                cands.append((syn_rank[base], 1, pos, h))
        if not cands:
            continue
        cands.sort()
        fields[f] = cands[0][3]
        used.add(cands[0][3])
        if len(cands) > 1:
            ambiguous[f] = [c[3] for c in cands]

    result = ColumnMapping(
        fields={f: fields[f] for f in FIELDS if f in fields},
        unmapped=[h for h in headers if h not in used],
        ambiguous=ambiguous, source=source, from_mapping=tuple(from_mapping))
    if require:
        _check_required(result, headers, source, file)
    return result


def _missing_message(field_name: str, headers: Sequence[str], source: str) -> str:
    syn = synonyms_for(field_name, source)
    return (f"no column for {field_name} — {FIELD_LABELS[field_name]}; tried "
            f"{', '.join(syn)}")


def _check_required(m: ColumnMapping, headers: Sequence[str], source: str, file: str | None) -> None:
    problems = [_missing_message(f, headers, source) for f in REQUIRED if f not in m.fields]
    if not m.has_coordinates and "address" not in m.fields:
        missing = [f for f in ("lon", "lat") if f not in m.fields]
        problems.append(
            "no location: the file needs longitude+latitude columns or an address column ("
            + "; ".join(_missing_message(f, headers, source) for f in missing + ["address"]) + ")")
    if not problems:
        return
    example = "\n".join(
        f'{f} = "<column name>"' for f in (*REQUIRED, "lon", "lat", "address") if f not in m.fields)
    raise InputFileError(
        f"cannot find the required columns for source {source!r}.\n"
        f"The file's columns are: {', '.join(repr(h) for h in headers) or '(none)'}.\n"
        + "\n".join(f"- {p}" for p in problems)
        + "\n(matching ignores case, spaces, underscores, full-width characters and bracketed "
          "suffixes.)\nFix: write a mapping file (TOML) naming your columns, e.g.\n[columns]\n"
        + example + "\nand pass it with --mapping FILE.", file=file)


# --------------------------------------------------------------------------- mapping files

_OPTION_KEYS = ("crs", "time_format", "encoding", "delimiter", "sheet", "source", "timezone",
                "location_order")
_TOP_KEYS = ("columns", "options", "categories", "constants")
LOCATION_KEY = "location"
"""``[columns]`` key of a single column holding both coordinates."""
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def load_mapping(path: str | Path, known_categories: Iterable[str] | None = None) -> Mapping:
    """Read and validate a mapping file (TOML).

    Parameters
    ----------
    path
        The file; see the module docstring for its tables.
    known_categories
        Category codes allowed as ``[categories]`` values (``"other"`` is
        always allowed); ``None`` accepts any lowercase code.

    Raises
    ------
    InputFileError
        Syntax errors (with line and column), unknown tables or keys (with
        the allowed ones), values of the wrong type, an unknown source,
        encoding or category code, a time format without ``%`` directives.
    """
    p = Path(path)
    name = str(p)
    if not p.is_file():
        raise InputFileError("mapping file not found", file=name)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InputFileError("the mapping file must be UTF-8 text", file=name) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"not valid TOML: {exc}", file=name) from None

    def bad(msg: str) -> InputFileError:
        return InputFileError(msg, file=name)

    unknown = set(doc) - set(_TOP_KEYS)
    if unknown:
        raise bad(f"unknown table(s) {sorted(unknown)}; a mapping file has [columns], [options], "
                  "[constants] and [categories]")
    for key in _TOP_KEYS:
        if key in doc and not isinstance(doc[key], dict):
            raise bad(f"{key!r} must be a table ([{key}]), got {type(doc[key]).__name__}")

    columns = dict(doc.get("columns", {}))
    unknown = set(columns) - set(FIELDS) - {LOCATION_KEY}
    if unknown:
        raise bad(f"unknown field(s) under [columns]: {sorted(unknown)}; the fields are "
                  f"{', '.join(FIELDS)} (and {LOCATION_KEY} for one column holding both coordinates)")
    composed: dict[str, tuple[str, ...]] = {}
    for k, v in list(columns.items()):
        if isinstance(v, list) and v and all(isinstance(x, str) and x for x in v) and k != LOCATION_KEY:
            if len(v) == 1:
                columns[k] = v[0]
            else:
                composed[k] = tuple(v)
                del columns[k]
        elif not isinstance(v, str):
            raise bad(f"[columns] {k} must be a column name in quotes (or a list of names to join, "
                      f"like [\"date\", \"time\"]), got {v!r}")
    location = columns.pop(LOCATION_KEY, None) or None
    if location and ({"lon", "lat"} & (set(columns) | set(composed))):
        raise bad(f"[columns] gives both {LOCATION_KEY} and lon/lat; use one or the other")

    constants_raw = dict(doc.get("constants", {}))
    unknown = set(constants_raw) - set(FIELDS)
    if unknown:
        raise bad(f"unknown field(s) under [constants]: {sorted(unknown)}; the fields are {', '.join(FIELDS)}")
    constants: dict[str, str] = {}
    for k, v in constants_raw.items():
        if isinstance(v, bool) or not isinstance(v, (str, int, float)) or str(v).strip() == "":
            raise bad(f"[constants] {k} must be a non-empty value (text or number), got {v!r}")
        if k in columns or k in composed:
            raise bad(f"{k} is given both under [columns] and [constants]; keep one")
        constants[k] = str(v)

    opts = dict(doc.get("options", {}))
    unknown = set(opts) - set(_OPTION_KEYS)
    if unknown:
        raise bad(f"unknown option(s) under [options]: {sorted(unknown)}; allowed: "
                  f"{', '.join(_OPTION_KEYS)}")
    for k, v in opts.items():
        if k == "sheet":
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                raise bad(f"[options] sheet must be a sheet name or a 0-based index, got {v!r}")
        elif not isinstance(v, str) or not v.strip():
            raise bad(f"[options] {k} must be a non-empty string, got {v!r}")
    if "source" in opts and opts["source"] not in SOURCES:
        raise bad(f"[options] source {opts['source']!r} is unknown; use one of {', '.join(SOURCES)}")
    if "timezone" in opts:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(opts["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise bad(f"[options] timezone {opts['timezone']!r} is not an IANA time zone; write e.g. "
                      "\"America/New_York\", \"Europe/London\", \"Asia/Shanghai\"") from None
    if "location_order" in opts and opts["location_order"].replace(" ", "") not in ("lon,lat", "lat,lon"):
        raise bad(f"[options] location_order must be \"lon,lat\" or \"lat,lon\", got {opts['location_order']!r}")
    if "crs" in opts:
        from geo.grid.crs import normalize_crs_name

        try:
            normalize_crs_name(opts["crs"])
        except ValueError as exc:
            raise bad(f"[options] crs {opts['crs']!r}: {exc}") from None
    if "time_format" in opts and "%" not in opts["time_format"]:
        raise bad(f"[options] time_format {opts['time_format']!r} has no %-directives; write it "
                  "like \"%d/%m/%Y %H:%M\" (Python strptime codes)")
    if "encoding" in opts:
        try:
            codecs.lookup(opts["encoding"])
        except LookupError:
            raise bad(f"[options] encoding {opts['encoding']!r} is unknown; use e.g. utf-8, "
                      "gb18030") from None
    if "delimiter" in opts:
        d = opts["delimiter"]
        if len(d) != 1 and d.lower() not in ("tab", "\\t", "comma", "semicolon", "pipe"):
            raise bad(f"[options] delimiter {d!r} must be one character (or tab/comma/semicolon/pipe)")

    cats_raw = dict(doc.get("categories", {}))
    known = set(known_categories) | {"other"} if known_categories is not None else None
    categories: dict[str, str] = {}
    for k, v in cats_raw.items():
        if not isinstance(v, str) or not _CODE.match(v):
            raise bad(f"[categories] {k!r} must map to a category code like \"illegal_parking\", "
                      f"got {v!r}")
        if known is not None and v not in known:
            raise bad(f"[categories] {k!r} maps to unknown category {v!r}; known codes: "
                      f"{', '.join(sorted(known))}")
        key = normalize_scalar(k)
        if key is None:
            raise bad("[categories] has an empty raw value as a key")
        categories[key] = v

    return Mapping(columns=columns, crs=opts.get("crs"), time_format=opts.get("time_format"),
                   encoding=opts.get("encoding"), delimiter=opts.get("delimiter"),
                   sheet=opts.get("sheet"), source=opts.get("source"), categories=categories,
                   composed=composed, constants=constants, location=location,
                   location_order=opts["location_order"].replace(" ", "") if "location_order" in opts else None,
                   timezone=opts.get("timezone"), path=p)
