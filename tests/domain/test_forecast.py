"""Forecasts on synthetic demand with a known truth, within stated errors."""

from __future__ import annotations

import random
from statistics import mean

import pytest

from domain.forecast import ForecastParams, classify, croston_sba, fit, plan, tsb, z_score

HORIZON = 14.0


def trending(seed: int, days: int = 180) -> tuple[list[float], float]:
    """Daily demand 20 + 0.2 t plus noise (sd 3); the truth is the mean rate over the horizon."""
    r = random.Random(seed)
    series = [max(0.0, 20 + 0.2 * t + r.gauss(0, 3)) for t in range(days)]
    truth = 20 + 0.2 * (days - 1 + (HORIZON + 1) / 2)
    return series, truth


def intermittent(seed: int, days: int = 365, p: float = 0.2) -> list[float]:
    """Demand on 20% of days, 2..8 units when it happens: a true rate of 1.0 unit a day."""
    r = random.Random(seed)
    return [float(r.randint(2, 8)) if r.random() < p else 0.0 for _ in range(days)]


def test_classifies_the_syntetos_boylan_patterns() -> None:
    assert classify([0.0] * 30) == "none"
    assert classify([10, 11, 9, 10, 12, 10, 9, 11]) == "smooth"
    assert classify([1, 30, 2, 25, 1, 40, 3, 1]) == "erratic"
    assert classify([0, 0, 5, 0, 0, 6, 0, 0, 5, 0]) == "intermittent"
    assert classify([0, 0, 1, 0, 0, 40, 0, 0, 2, 0]) == "lumpy"


def test_a_trending_series_is_forecast_within_5_percent() -> None:
    """Damped Holt follows the trend: mean error under 5%, no run worse than 15% (50 seeds)."""
    errors = []
    for seed in range(50):
        series, truth = trending(seed)
        pattern, f = fit(series, HORIZON)
        assert pattern == "smooth" and f.method == "holt"
        errors.append(abs(f.velocity / truth - 1))
    assert mean(errors) < 0.05
    assert max(errors) < 0.15


def test_trend_beats_a_flat_average() -> None:
    """The last 90 days' average lags a rising series; the forecast must not."""
    series, truth = trending(7)
    _, f = fit(series, HORIZON)
    flat = mean(series[-90:])
    assert abs(f.velocity - truth) < abs(flat - truth) / 3


def test_intermittent_demand_is_unbiased_within_25_percent() -> None:
    """SBA on a known rate (1.0/day): bias under 5%, mean absolute error under 25% (100 seeds)."""
    velocities = []
    for seed in range(100):
        pattern, f = fit(intermittent(seed), HORIZON)
        assert pattern == "intermittent" and f.method == "sba"
        velocities.append(f.velocity)
    assert abs(mean(velocities) - 1.0) < 0.05
    assert mean(abs(v - 1.0) for v in velocities) < 0.25


def test_tsb_lets_a_dead_item_decay_to_zero() -> None:
    """After demand stops, TSB's probability decays; Croston would freeze at the last level."""
    series = intermittent(1, days=200) + [0.0] * 120
    dead = tsb(series, 0.1, 0.1)
    frozen = croston_sba(series, 0.1)
    assert dead.velocity < 0.05 < frozen.velocity


def test_plan_turns_velocity_into_cover_reorder_point_and_quantity() -> None:
    """Constant demand of 10/day: zero error, so safety stock is zero and the maths is exact."""
    params = ForecastParams(lead_time_days=7, review_days=7, service_level=0.95)
    f = plan("SKU", [10.0] * 60, available=50, inbound=20, params=params)
    assert f.velocity == pytest.approx(10.0)
    assert f.safety_stock == 0
    assert f.days_of_cover == 5.0
    assert f.reorder_point == 70
    assert f.suggested_qty == 140 - 70  # up to 14 days of demand, minus the position
    assert f.reorder_now  # position 70 <= reorder point 70


def test_safety_stock_grows_with_error_lead_time_and_service_level() -> None:
    series = intermittent(5)
    low = plan("S", series, 0, 0, ForecastParams(lead_time_days=4, service_level=0.9))
    high = plan("S", series, 0, 0, ForecastParams(lead_time_days=16, service_level=0.99))
    assert 0 < low.safety_stock < high.safety_stock
    assert z_score(0.95) == pytest.approx(1.6449, abs=1e-4)


def test_no_demand_means_no_order_and_infinite_cover() -> None:
    f = plan("S", [0.0] * 90, available=12, inbound=0, params=ForecastParams())
    assert (f.pattern, f.method, f.velocity) == ("none", "none", 0.0)
    assert f.days_of_cover is None and f.suggested_qty == 0 and not f.reorder_now
