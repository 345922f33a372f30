import pandas as pd
import pytest

from geo.analysis.filters import EventFilter, apply_filter, window_days, window_hours_per_day, window_mask
from geo.settings import Settings, TimeWindow

S = Settings()


def _times(*local):
    return pd.Series(pd.to_datetime(list(local))).dt.tz_localize("Asia/Shanghai").dt.tz_convert("UTC")


def test_morning_peak_edges_are_start_inclusive_end_exclusive():
    # 2024-03-05 is a Tuesday
    t = _times("2024-03-05 06:59", "2024-03-05 07:00", "2024-03-05 08:59", "2024-03-05 09:00")
    assert window_mask(t, S.window("morning_peak"), S.timezone).tolist() == [False, True, True, False]


def test_night_window_crosses_midnight():
    t = _times("2024-03-05 18:59", "2024-03-05 19:00", "2024-03-05 23:30", "2024-03-06 00:00",
               "2024-03-06 06:59", "2024-03-06 07:00")
    assert window_mask(t, S.window("night"), S.timezone).tolist() == [False, True, True, True, True, False]
    assert window_hours_per_day(S.window("night")) == 12


def test_weekday_and_weekend_are_judged_in_local_time():
    # 2024-03-08 23:30 UTC is Saturday 07:30 in Beijing: weekend, and not a (weekday) morning peak
    t = pd.Series(pd.to_datetime(["2024-03-08 23:30", "2024-03-08 01:00"])).dt.tz_localize("UTC")
    assert window_mask(t, S.window("weekend"), S.timezone).tolist() == [True, False]
    assert window_mask(t, S.window("weekday"), S.timezone).tolist() == [False, True]
    assert window_mask(t, S.window("morning_peak"), S.timezone).tolist() == [False, False]


def test_user_defined_window_and_days_count():
    lunch = TimeWindow(name="lunch", label_zh="午间", label_en="Lunch", start="11:30", end="13:30", days=(0, 1, 2, 3, 4))
    s = Settings(windows=(*S.windows, lunch))
    t = _times("2024-03-05 11:29", "2024-03-05 11:30", "2024-03-09 12:00")
    assert window_mask(t, s.window("lunch"), s.timezone).tolist() == [False, True, False]
    # March 2024 has 21 weekdays
    assert window_days(s.window("lunch"), pd.Timestamp("2024-03-01").date(), pd.Timestamp("2024-03-31").date()) == 21


def test_apply_filter_combines_sources_categories_dates_and_windows():
    frame = pd.DataFrame({
        "source": ["violation", "hotline", "violation", "violation"],
        "category": ["red_light", "red_light", "illegal_parking", "red_light"],
        "occurred_at": _times("2024-03-05 08:00", "2024-03-05 08:00", "2024-03-05 08:00", "2024-03-07 08:00"),
    })
    flt = EventFilter(window="morning_peak", sources=("violation",), categories=("red_light",),
                      since=pd.Timestamp("2024-03-05").date(), until=pd.Timestamp("2024-03-05").date())
    assert apply_filter(frame, flt, S).index.tolist() == [0]
    with pytest.raises(ValueError, match="unknown source"):
        apply_filter(frame, EventFilter(sources=("tweets",)), S)
    with pytest.raises(ValueError, match="unknown category"):
        apply_filter(frame, EventFilter(categories=("ufo",)), S)
    with pytest.raises(ValueError, match="unknown time window"):
        apply_filter(frame, EventFilter(window="lunch"), S)
