"""The message catalogues (geo/i18n.py, geo/locale/*.toml): complete, consistent, formats from data."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import geo.errors
from geo import i18n
from geo.i18n import Catalogue, catalogue, check_lang, keys, placeholders
from geo.settings import SOURCES, TIERS, Settings

ROOT = Path(__file__).resolve().parent.parent
APP_FILES = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py")), *sorted((ROOT / "geo" / "app").glob("*.py")),
             *sorted((ROOT / "geo" / "maps").glob("*.py"))]


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    zh, en = keys("zh"), keys("en")
    assert zh == en, f"only in zh: {sorted(zh - en)}; only in en: {sorted(en - zh)}"
    for key in zh:
        a, b = catalogue("zh").raw(key), catalogue("en").raw(key)
        assert type(a) is type(b), key
        if isinstance(a, str):
            assert placeholders(a) == placeholders(b), key


def _literal_keys() -> set[str]:
    """Every ``<x>.t("literal")`` key in the app and the render module."""
    found: set[str] = set()
    for path in APP_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "t"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.add(node.args[0].value)
    return found


def test_every_literal_key_used_by_the_app_exists() -> None:
    used = _literal_keys()
    assert len(used) > 100  # the scan really finds the app's keys
    missing = sorted(k for k in used if k not in keys("zh"))
    assert not missing, missing


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_dynamic_key_families_exist(lang: str) -> None:
    from geo.ingest.quarantine import REASONS
    from geo.maps.render import MODES

    c = catalogue(lang)
    families = [f"source.{s}" for s in SOURCES] + [f"tier.{t}" for t in TIERS]
    families += [f"kpi.events_{s}" for s in SOURCES] + [f"hotspot.mode_{m}" for m in MODES]
    families += [f"legend.title.{m}" for m in MODES] + [f"map.layer.cells_{m}" for m in MODES]
    families += [f"legend.bin.{b}" for b in ("hot3", "hot2", "hot1", "ns", "cold1", "cold2", "cold3")]
    families += [f"reason.{r}" for r in REASONS]
    families += [f"intake.crs_{k.lower()}" for k in ("auto", "WGS84", "GCJ02", "BD09", "CGCS2000", "EPSG")]
    families += [f"download.{s}" for s in ("xlsx", "csv", "geojson")]
    missing = [k for k in families if not c.has(k)]
    assert not missing, missing


def test_every_library_error_class_has_a_title_and_a_fix() -> None:
    from geo.planning.mclp import PostPlanningError

    classes = [cls for _, cls in inspect.getmembers(geo.errors, inspect.isclass)
               if issubclass(cls, geo.errors.GridwatchError)] + [PostPlanningError]
    for lang in ("zh", "en"):
        c = catalogue(lang)
        for cls in classes:
            assert c.has(f"error.{cls.__name__}.title") and c.has(f"error.{cls.__name__}.fix"), (lang, cls)


def test_error_hint_follows_the_class_hierarchy() -> None:
    class OddFileError(geo.errors.InputFileError):
        pass

    zh = catalogue("zh")
    assert zh.error(geo.errors.CoordinateError("bad"))[0] == zh.t("error.CoordinateError.title")
    # a subclass without its own entry gets its parent's, a foreign error the generic one
    assert zh.error(OddFileError("x"))[0] == zh.t("error.InputFileError.title")
    assert zh.error(KeyError("x"))[0] == zh.t("error.Exception.title")
    assert catalogue("en").error(ValueError("x"))[0] == "Invalid input"


def test_number_formats_come_from_the_catalogue() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert zh.fmt_int(1234567) == "1,234,567"
    assert en.fmt_int(-1234567) == "-1,234,567"
    assert en.fmt_num(1234.5678, 2) == "1,234.57"
    assert zh.fmt_num(-0.0001, 1) == "0.0"  # no negative zero
    assert zh.fmt_pct(0.1234) == "12.3%"
    assert en.fmt_change(0.25) == "+25.0%" and en.fmt_change(-0.1) == "-10.0%"
    assert zh.fmt_compact(123456) == "12.3万"
    assert zh.fmt_compact(234_000_000) == "2.3亿"
    assert en.fmt_compact(123456) == "123.5k"
    assert en.fmt_compact(999) == "999"
    assert zh.fmt_num(float("nan")) == "—" and en.fmt_pct(None) == "—"
    assert zh.t("format.pp", value="3.2") == "3.2 个百分点"


def test_date_formats() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert zh.fmt_date("2024-03-01", "long") == "2024年03月01日"
    assert en.fmt_date("2024-03-01", "long") == "01 Mar 2024"
    assert zh.fmt_week("2024-03-01") == "2024年第09周"
    assert en.fmt_week("2024-12-30") == "2025-W01"  # ISO year of the week
    import pandas as pd

    ts = pd.Timestamp("2024-03-01 23:30", tz="UTC")
    assert zh.fmt_datetime(ts, "Asia/Shanghai") == "2024-03-02 07:30"


def test_fallback_and_missing_placeholders() -> None:
    zh = catalogue("zh")
    partial = Catalogue(lang="en", messages={"page.overview": "Overview"}, fallback=zh)
    assert partial.t("page.overview") == "Overview"
    assert partial.t("page.planner") == zh.t("page.planner")  # missing: the other language
    assert partial.t("no.such.key") == "no.such.key"  # unknown: the key itself
    assert zh.t("overview.previous_value") == "上期：{value}"  # unfilled placeholder stays visible
    with pytest.raises(TypeError, match="Catalogue.raw"):
        zh.t("format.compact_units")


def test_domain_labels_come_from_the_workspace_settings() -> None:
    s = Settings()
    assert catalogue("en").category(s, "red_light") == "Red-light running"
    assert catalogue("zh").category(s, "red_light") == "闯红灯"
    assert catalogue("zh").category(s, "other") == "其他"
    assert catalogue("en").category(s, "not_a_code") == "not_a_code"
    assert catalogue("zh").window(s, "morning_peak") == "早高峰"
    assert list(catalogue("en").categories(s))[-1] == "other"


def test_language_codes() -> None:
    assert check_lang(None) == "zh" == i18n.DEFAULT_LANG
    assert check_lang("en-US") == "en" and check_lang("ZH_cn") == "zh"
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        check_lang("fr")


def test_no_language_branches_in_the_app() -> None:
    """Labels come from the catalogue: the pages never test the language themselves."""
    pattern = re.compile(r"""lang\s*==\s*["'](zh|en)["']|["'](zh|en)["']\s*==\s*\w*lang""")
    offenders = [str(p.relative_to(ROOT)) for p in APP_FILES if pattern.search(p.read_text(encoding="utf-8"))]
    assert not offenders, offenders
