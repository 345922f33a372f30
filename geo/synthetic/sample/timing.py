"""The simulated period and the sampling of days and hours."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.errors import SettingsError
from geo.synthetic.sample.contract import EPOCH_DAY
from geo.synthetic.sample.vocabulary import CAT_INDEX, SEASON_EXP, WARMTH


# --------------------------------------------------------------------------- #
# time helpers
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Period:
    start: np.datetime64   # day
    end: np.datetime64     # exclusive day
    n_days: int
    dow: np.ndarray        # weekday of each day, Monday = 0
    month: np.ndarray      # 1..12 of each day

    @property
    def t0(self) -> int:
        return int((self.start - EPOCH_DAY).astype(np.int64)) * 86400

    def day_of(self, date: np.datetime64) -> int:
        return int((np.datetime64(date, "D") - self.start).astype(np.int64))

    def date(self, day: int) -> str:
        return str(self.start + np.timedelta64(int(day), "D"))


def period(start: str, months: int) -> Period:
    try:
        s = pd.Timestamp(start).normalize()
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"start {start!r} is not a date; use YYYY-MM-DD, e.g. '2024-03-01'") from exc
    e = s + pd.DateOffset(months=int(months))
    d0, d1 = np.datetime64(s.date(), "D"), np.datetime64(e.date(), "D")
    days = np.arange(d0, d1)
    dow = ((days - np.datetime64("1970-01-05", "D")).astype(np.int64)) % 7
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return Period(d0, d1, len(days), dow, month)


def sample_hours(rng: np.random.Generator, weekend: np.ndarray, wd: np.ndarray, we: np.ndarray) -> np.ndarray:
    """Seconds after midnight drawn from hourly weight profiles (weekday/weekend)."""
    n = len(weekend)
    out = np.empty(n, dtype=np.int64)
    u = rng.random(n)
    sec = rng.integers(0, 3600, n)
    for mask, prof in ((~weekend, wd), (weekend, we)):
        cdf = np.cumsum(prof) / prof.sum()
        h = np.minimum(np.searchsorted(cdf, u[mask], side="right"), 23)
        out[mask] = h * 3600 + sec[mask]
    return out


def _season(per: Period, cat: str) -> np.ndarray:
    return WARMTH[per.month - 1] ** SEASON_EXP.get(cat, 0.0)


def draw_background(rng: np.random.Generator, per: Period, n: int, shares: dict[str, float],
                     dow_w: np.ndarray, day_mask: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Category index and day index of ``n`` events (per-category seasonal day weights)."""
    cats = list(shares)
    pr = np.array([shares[c] for c in cats])
    counts = rng.multinomial(n, pr / pr.sum())
    cat_out, day_out = [], []
    base = dow_w[per.dow] * (day_mask if day_mask is not None else 1.0)
    for c, k in zip(cats, counts, strict=True):
        if k == 0:
            continue
        w = base * _season(per, c)
        day_out.append(rng.choice(per.n_days, size=k, p=w / w.sum()))
        cat_out.append(np.full(k, CAT_INDEX[c], dtype=np.int16))
    if not cat_out:
        return np.empty(0, np.int16), np.empty(0, np.int64)
    return np.concatenate(cat_out), np.concatenate(day_out)
