"""Tests of geo.ingest.timeparse: every supported format against known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.errors import SettingsError
from geo.ingest.timeparse import (
    CLOSED_BEFORE_OCCURRED,
    CLOSED_UNPARSEABLE,
    TIME_MISSING,
    TIME_UNPARSEABLE,
    parse_closed_times,
    parse_times,
)

TZ = "Asia/Shanghai"


def local(p, i: int = 0) -> str:
    """Wall time in Asia/Shanghai of value ``i`` as text."""
    return p.times.iloc[i].strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@pytest.mark.parametrize("value, expected", [
    # ISO 8601 and friends (naive = local)
    ("2024-03-05 08:30:00", "2024-03-05 08:30:00.000"),
    ("2024-03-05T08:30", "2024-03-05 08:30:00.000"),
    ("2024-03-05T08:30:15", "2024-03-05 08:30:15.000"),
    ("2024-03-05 08:30:00.250", "2024-03-05 08:30:00.250"),
    ("2024-03-05", "2024-03-05 00:00:00.000"),
    (" 2024-03-05 08:30:00 ", "2024-03-05 08:30:00.000"),
    # slashes, dots, single digits
    ("2024/03/05 08:30", "2024-03-05 08:30:00.000"),
    ("2024/03/05 08:30:59", "2024-03-05 08:30:59.000"),
    ("2024/3/5 8:30", "2024-03-05 08:30:00.000"),
    ("2024/3/5", "2024-03-05 00:00:00.000"),
    ("2024.3.5 8:30", "2024-03-05 08:30:00.000"),
    # compact digits
    ("20240305083015", "2024-03-05 08:30:15.000"),
    ("202403050830", "2024-03-05 08:30:00.000"),
    ("20240305", "2024-03-05 00:00:00.000"),
    # Chinese
    ("2024年3月5日 8时", "2024-03-05 08:00:00.000"),
    ("2024年3月5日 8时30分", "2024-03-05 08:30:00.000"),
    ("2024年3月5日8时30分15秒", "2024-03-05 08:30:15.000"),
    ("2024年3月5日 08:30", "2024-03-05 08:30:00.000"),
    ("2024年03月05日 08:30:00", "2024-03-05 08:30:00.000"),
    ("2024年3月5日", "2024-03-05 00:00:00.000"),
    ("2024年3月5日 8点半", "2024-03-05 08:30:00.000"),
    ("2024年3月5日 下午3时", "2024-03-05 15:00:00.000"),
    ("2024年3月5日 晚上9点10分", "2024-03-05 21:10:00.000"),
    ("2024年3月5日 上午11时", "2024-03-05 11:00:00.000"),
    ("2024年3月5日 中午12时", "2024-03-05 12:00:00.000"),
    ("2024年3月5日 凌晨12时", "2024-03-05 00:00:00.000"),
    # full-width digits and punctuation
    ("２０２４年３月５日　８时３０分", "2024-03-05 08:30:00.000"),
    ("２０２４－０３－０５　０８：３０：００", "2024-03-05 08:30:00.000"),
    # Excel serial days (1900 system, local wall time)
    ("45356.5", "2024-03-05 12:00:00.000"),
    ("45356.354166", "2024-03-05 08:30:00.000"),   # 08:29:59.94 rounded as Excel shows it
    ("45356", "2024-03-05 00:00:00.000"),
])
def test_known_answers(value: str, expected: str) -> None:
    p = parse_times(pd.Series([value]), tz=TZ)
    assert p.ok.tolist() == [True], (value, p.reason.tolist())
    assert local(p) == expected
    assert str(p.times.dtype) == "datetime64[us, Asia/Shanghai]"


@pytest.mark.parametrize("value, utc", [
    ("2024-03-05T08:30:00Z", "2024-03-05 08:30:00"),
    ("2024-03-05T08:30:00+08:00", "2024-03-05 00:30:00"),
    ("2024-03-05 08:30:00+0800", "2024-03-05 00:30:00"),
    ("2024-03-05 08:30:00 +05:30", "2024-03-05 03:00:00"),
    ("2024-03-05T08:30-05:00", "2024-03-05 13:30:00"),
    ("2024-03-05T08:30:00-05", "2024-03-05 13:30:00"),
    ("2024-03-05 08:30:00 UTC", "2024-03-05 08:30:00"),
    ("2024-03-05T08:30:00.500Z", "2024-03-05 08:30:00.500000"),
    ("1709627400", "2024-03-05 08:30:00"),         # epoch seconds are UTC instants
    ("1709627400.5", "2024-03-05 08:30:00.500000"),
    ("1709627400000", "2024-03-05 08:30:00"),      # epoch milliseconds
    ("1709627400123", "2024-03-05 08:30:00.123000"),
])
def test_instants_respect_offsets(value: str, utc: str) -> None:
    p = parse_times(pd.Series([value]), tz=TZ)
    assert p.ok.all(), value
    assert p.utc.iloc[0] == pd.Timestamp(utc, tz="UTC")
    assert p.times.iloc[0].utcoffset() == pd.Timedelta(hours=8)   # returned in tz


@pytest.mark.parametrize("value", [
    "2024-13-01", "2024-02-30 08:00", "2023-02-29", "2024-03-05 25:00", "2024-03-05 08:61",
    "2024年13月1日", "20240230", "abc", "12345", "05/03", "2024-03-05 08:30 PM extra", "99999.5",
])
def test_impossible_values_are_unparseable(value: str) -> None:
    p = parse_times(pd.Series([value]))
    assert p.ok.tolist() == [False] and p.reason.tolist() == [TIME_UNPARSEABLE]
    assert p.times.isna().all()


def test_missing_values_and_reasons() -> None:
    p = parse_times(pd.Series(["", None, np.nan, "   ", "2024-03-05"], index=[5, 6, 7, 8, 9]))
    assert p.reason.tolist()[:4] == [TIME_MISSING] * 4 and pd.isna(p.reason.iloc[4])
    assert p.ok.tolist() == [False] * 4 + [True]
    assert p.times.index.tolist() == [5, 6, 7, 8, 9] and p.ok.index.tolist() == [5, 6, 7, 8, 9]
    assert str(p.reason.dtype) == "str"


def test_mixed_column_against_truth() -> None:
    rng = np.random.default_rng(42)
    n = 3000
    truth = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700 * 86400, n), unit="s")
    truth = truth.floor("min")
    styles = [
        truth.strftime("%Y-%m-%d %H:%M:%S"),
        truth.strftime("%Y-%m-%dT%H:%M"),
        truth.strftime("%Y/%-m/%-d %-H:%M"),
        truth.strftime("%Y年%-m月%-d日 %-H时%M分"),
        truth.strftime("%Y年%-m月%-d日 %H:%M"),
        truth.strftime("%Y%m%d%H%M%S"),
        pd.Index(((truth - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).map("{:.8f}".format)),
        pd.Index(((truth - pd.Timedelta(hours=8) - pd.Timestamp("1970-01-01"))
                  // pd.Timedelta(seconds=1)).astype(str)),
        truth.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
        truth.strftime("%Y-%m-%d %H:%M:%S").str.translate(
            {ord(c): ord(c) + 0xFEE0 for c in "0123456789-:"}),  # full width
    ]
    pick = rng.integers(0, len(styles), n)
    values = pd.Series([styles[k][i] for i, k in enumerate(pick)])
    p = parse_times(values, tz=TZ)
    assert p.ok.all(), values[~p.ok].head().tolist()
    expected = pd.Series(truth.tz_localize(TZ)).dt.as_unit("us")
    pd.testing.assert_series_equal(p.times, expected, check_names=False)
    assert sum(p.kinds.values()) == n
    assert {"iso", "ymd", "compact", "excel_serial", "epoch_s", "offset"} <= set(p.kinds)


def test_shanghai_has_no_dst_and_other_zones_do() -> None:
    p = parse_times(pd.Series(["2024-01-15 12:00", "2024-07-15 12:00"]), tz=TZ)
    assert [t.utcoffset() for t in p.times] == [pd.Timedelta(hours=8)] * 2
    ny = parse_times(pd.Series(["2024-01-15 12:00", "2024-07-15 12:00"]), tz="America/New_York")
    assert [t.utcoffset() for t in ny.times] == [pd.Timedelta(hours=-5), pd.Timedelta(hours=-4)]
    assert ny.utc.iloc[1] == pd.Timestamp("2024-07-15 16:00", tz="UTC")


def test_day_month_order_inferred_from_column() -> None:
    p = parse_times(pd.Series(["05/03/2024 08:30", "25/03/2024 08:30"]))
    assert [t.strftime("%m-%d") for t in p.times] == ["03-05", "03-25"] and p.kinds == {"dmy": 2}
    us = parse_times(pd.Series(["03/05/2024 08:30:00 PM", "12/25/2024 12:10:00 AM",
                                "01/13/2024 01:00:00 PM"]), tz="America/New_York")
    assert [t.strftime("%m-%d %H:%M") for t in us.times] == ["03-05 20:30", "12-25 00:10", "01-13 13:00"]
    amb = parse_times(pd.Series(["05/03/2024 08:30"]))
    assert amb.times.iloc[0].month == 3 and "ambiguous" in amb.notes[0]


def test_time_format_option() -> None:
    p = parse_times(pd.Series(["05/03/2024 08:30", "2024-03-06 09:00:00"]), time_format="%m/%d/%Y %H:%M")
    assert [t.strftime("%Y-%m-%d %H:%M") for t in p.times] == ["2024-05-03 08:30", "2024-03-06 09:00"]
    assert p.kinds == {"format": 1, "iso": 1}
    q = parse_times(pd.Series(["05.03.2024 08:30:15.5"]), time_format="%d.%m.%Y %H:%M:%S.%f")
    assert local(q) == "2024-03-05 08:30:15.500"


def test_non_string_inputs() -> None:
    p = parse_times(pd.Series([45356.5, np.nan, 20240305083000.0, 1709627400]))
    assert [local(p, i) for i in (0, 2, 3)] == ["2024-03-05 12:00:00.000", "2024-03-05 08:30:00.000",
                                                "2024-03-05 16:30:00.000"]
    assert p.reason.iloc[1] == TIME_MISSING
    naive = parse_times(pd.Series(pd.to_datetime(["2024-03-05 08:30", None])))
    assert local(naive) == "2024-03-05 08:30:00.000" and naive.ok.tolist() == [True, False]
    aware = parse_times(pd.Series(pd.to_datetime(["2024-03-05 00:30"]).tz_localize("UTC")))
    assert local(aware) == "2024-03-05 08:30:00.000"


def test_unknown_time_zone() -> None:
    with pytest.raises(SettingsError, match="Mars/Olympus"):
        parse_times(pd.Series(["2024-03-05"]), tz="Mars/Olympus")


def test_closed_times() -> None:
    occurred = parse_times(pd.Series(["2024-03-05 08:00"] * 4))
    c = parse_closed_times(pd.Series(["2024-03-06 10:00", "", "2024-03-01", "soon"]), occurred)
    assert c.ok.tolist() == [True, True, False, False]
    assert [None if pd.isna(r) else r for r in c.reason] == [None, None, CLOSED_BEFORE_OCCURRED,
                                                            CLOSED_UNPARSEABLE]
    assert local(c) == "2024-03-06 10:00:00.000" and c.times.iloc[1:].isna().all()
    alone = parse_closed_times(pd.Series(["2024-03-01", None]))
    assert alone.ok.tolist() == [True, True]
