import pytest

from geo.settings import DEFAULT_CATEGORIES, Settings, Tiers, TimeWindow


def test_defaults_are_the_documented_ones():
    s = Settings()
    assert (s.tiers.big, s.tiers.middle, s.tiers.small) == (7, 8, 9)
    assert s.metric_crs == "EPSG:4548"
    assert s.timezone == "Asia/Shanghai"
    assert s.window("morning_peak").minutes() == (7 * 60, 9 * 60)
    assert s.window("evening_peak").minutes() == (17 * 60, 19 * 60)
    assert s.window("night").minutes() == (19 * 60, 7 * 60)  # crosses midnight
    assert s.window("weekend").days == (5, 6)
    assert s.posts.radius_m == 300.0


def test_category_weights_put_red_light_above_parking():
    w = Settings().category_weights()
    assert w["red_light"] > w["illegal_parking"]
    assert w["wrong_way"] > w["illegal_parking"]
    assert w["other"] == 1.0


def test_every_category_has_both_languages():
    for c in DEFAULT_CATEGORIES:
        assert c.label_zh and c.label_en and c.code.isascii()


@pytest.mark.parametrize("bad", ["7:00", "24:01", "07:60", "x"])
def test_window_times_are_validated(bad):
    with pytest.raises(ValueError, match="HH:MM"):
        TimeWindow(name="w", label_zh="w", label_en="w", start=bad)


def test_tiers_must_be_ordered():
    with pytest.raises(ValueError, match="big <= middle <= small"):
        Tiers(big=9, middle=8, small=7)


def test_unknown_window_lists_known_ones():
    with pytest.raises(ValueError, match="morning_peak"):
        Settings().window("lunch")


def test_unknown_source_crs_is_refused():
    with pytest.raises(ValueError, match="unknown source"):
        Settings(source_crs={"tweets": "WGS84"})
