"""Demand forecasting per SKU: velocity, days of cover, reorder point and suggested quantity.

Daily demand of a long-tail catalogue is mostly zeros, where simple exponential smoothing
over-reacts to each spike and under-forecasts in between. Series are classified with the
Syntetos-Boylan scheme (ADI = mean interval between demands, CV² of the non-zero sizes):
smooth and erratic series use Holt's linear smoothing (level + damped trend, so a rising
seller is not always behind), intermittent ones use Croston with the Syntetos-Boylan bias
correction (SBA), and lumpy ones TSB, whose demand probability decays every period so a dying
item's forecast falls to zero instead of freezing at its last level. Smoothing constants are
picked per series from a small grid by in-sample one-step error, which is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from pydantic import BaseModel, Field

Pattern = Literal["none", "smooth", "erratic", "intermittent", "lumpy"]
Method = Literal["none", "holt", "sba", "tsb"]

# Syntetos-Boylan cut-offs between smooth, erratic, intermittent and lumpy demand.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
ALPHAS = (0.05, 0.1, 0.2, 0.3, 0.5)
# Intermittent series carry little signal per day: the literature keeps Croston-type
# smoothing constants low (0.05-0.2), otherwise one large order swings the rate.
SPARSE_ALPHAS = (0.05, 0.1, 0.15)
BETAS = (0.01, 0.05, 0.1, 0.2)
# Dampens the trend so a short surge is not extrapolated for a whole lead time.
PHI = 0.9


class ForecastParams(BaseModel):
    """Inputs of a forecast run: history window, lead time, review period, service level."""

    history_days: int = Field(default=90, ge=7, le=730)
    lead_time_days: float = Field(default=7.0, gt=0, le=365)
    review_days: float = Field(default=7.0, ge=0, le=365)
    service_level: float = Field(default=0.95, gt=0.5, lt=1.0)


@dataclass(frozen=True)
class Fit:
    """A fitted series: daily velocity over the horizon, one-step error spread, selection score."""

    method: Method
    velocity: float
    sigma: float
    score: float
    alpha: float = 0.0
    beta: float = 0.0


class SkuForecast(BaseModel):
    """The plan for one SKU (network-wide)."""

    sku: str
    pattern: Pattern
    method: Method
    velocity: float
    sigma: float
    available: int
    inbound: int
    days_of_cover: float | None
    safety_stock: int
    reorder_point: int
    suggested_qty: int
    reorder_now: bool


def classify(series: Sequence[float]) -> Pattern:
    """The Syntetos-Boylan demand pattern of a daily series."""
    sizes = [x for x in series if x > 0]
    if not sizes:
        return "none"
    adi = len(series) / len(sizes)
    mean = sum(sizes) / len(sizes)
    cv2 = (sum((x - mean) ** 2 for x in sizes) / len(sizes)) / (mean * mean)
    if adi < ADI_CUTOFF:
        return "smooth" if cv2 < CV2_CUTOFF else "erratic"
    return "intermittent" if cv2 < CV2_CUTOFF else "lumpy"


def _rmse(errors: Sequence[float]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else 0.0


def _score(series: Sequence[float], preds: Sequence[float], start: int, horizon: int) -> float:
    """RMSE of each day's forecast against the mean demand of the following `horizon` days.

    One-step error rewards chasing every spike of an intermittent series; what replenishment
    needs is the rate over the coming days, so constants are chosen on that.
    """
    errors = []
    for i, p in enumerate(preds):
        window = series[start + i : start + i + horizon]
        if len(window) == horizon:
            errors.append(sum(window) / horizon - p)
    return _rmse(errors) if errors else math.inf


def holt(series: Sequence[float], alpha: float, beta: float, horizon: float) -> Fit:
    """Damped Holt smoothing; velocity is the mean daily forecast over the next `horizon` days."""
    level, trend = float(series[0]), 0.0
    if len(series) > 1:
        span = min(len(series) - 1, 7)
        trend = (series[span] - series[0]) / span
    preds = []
    for x in series[1:]:
        predicted = level + PHI * trend
        preds.append(predicted)
        new_level = alpha * x + (1 - alpha) * predicted
        trend = beta * (new_level - level) + (1 - beta) * PHI * trend
        level = new_level
    steps = max(1, math.ceil(horizon))
    damped = [sum(PHI**i for i in range(1, h + 1)) for h in range(1, steps + 1)]
    velocity = max(0.0, level + trend * sum(damped) / steps)
    return _fit("holt", series, preds, 1, velocity, steps, alpha, beta)


def croston_sba(series: Sequence[float], alpha: float, horizon: float = 7.0) -> Fit:
    """Croston's method with the Syntetos-Boylan (1 - alpha/2) bias correction."""
    first = next(i for i, x in enumerate(series) if x > 0)
    size, interval, since = float(series[first]), float(first + 1), 1
    correction = 1 - alpha / 2
    preds = []
    for x in series[first + 1 :]:
        preds.append(correction * size / interval)
        if x > 0:
            size += alpha * (x - size)
            interval += alpha * (since - interval)
            since = 1
        else:
            since += 1
    velocity = correction * size / interval
    return _fit("sba", series, preds, first + 1, velocity, math.ceil(horizon), alpha)


def tsb(series: Sequence[float], alpha: float, beta: float, horizon: float = 7.0) -> Fit:
    """Teunter-Syntetos-Babai: smooths demand probability every day, size on demand days."""
    first = next(i for i, x in enumerate(series) if x > 0)
    prob, size = 1.0 / (first + 1), float(series[first])
    preds = []
    for x in series[first + 1 :]:
        preds.append(prob * size)
        prob += beta * ((1.0 if x > 0 else 0.0) - prob)
        if x > 0:
            size += alpha * (x - size)
    return _fit("tsb", series, preds, first + 1, prob * size, math.ceil(horizon), alpha, beta)


def _fit(
    method: Method,
    series: Sequence[float],
    preds: Sequence[float],
    start: int,
    velocity: float,
    horizon: int,
    alpha: float,
    beta: float = 0.0,
) -> Fit:
    sigma = _rmse([x - p for x, p in zip(series[start:], preds, strict=True)])
    score = _score(series, preds, start, max(1, horizon))
    if math.isinf(score):  # history shorter than the horizon: fall back to one-step error
        score = sigma
    return Fit(method, velocity, sigma, score, alpha, beta)


def fit(series: Sequence[float], horizon: float = 7.0) -> tuple[Pattern, Fit]:
    """Pick the method for the pattern and its constants by error over the horizon."""
    pattern = classify(series)
    if pattern == "none":
        return pattern, Fit("none", 0.0, 0.0, 0.0)
    if pattern in ("smooth", "erratic"):
        fits = [holt(series, a, b, horizon) for a in ALPHAS for b in BETAS]
    elif pattern == "intermittent":
        fits = [croston_sba(series, a, horizon) for a in SPARSE_ALPHAS]
    else:
        fits = [tsb(series, a, b, horizon) for a in SPARSE_ALPHAS for b in BETAS]
    return pattern, min(fits, key=lambda f: (f.score, f.alpha, f.beta))


def z_score(service_level: float) -> float:
    """The standard normal quantile for a cycle service level (0.95 -> 1.645)."""
    return NormalDist().inv_cdf(service_level)


def plan(
    sku: str, series: Sequence[float], available: int, inbound: int, params: ForecastParams
) -> SkuForecast:
    """Forecast one SKU and turn it into a replenishment suggestion.

    Safety stock covers demand error over the lead time (sigma * sqrt(L) * z); the reorder point
    adds expected lead-time demand; the suggestion tops the position (available + inbound) up to
    cover the lead time plus one review period.
    """
    lead = params.lead_time_days
    pattern, f = fit(series, horizon=lead + params.review_days)
    safety = z_score(params.service_level) * f.sigma * math.sqrt(lead)
    reorder_point = f.velocity * lead + safety
    order_up_to = f.velocity * (lead + params.review_days) + safety
    position = available + inbound
    suggested = max(0, math.ceil(order_up_to - position - 1e-9)) if f.velocity > 0 else 0
    return SkuForecast(
        sku=sku,
        pattern=pattern,
        method=f.method,
        velocity=round(f.velocity, 4),
        sigma=round(f.sigma, 4),
        available=available,
        inbound=inbound,
        days_of_cover=round(available / f.velocity, 1) if f.velocity > 0 else None,
        safety_stock=math.ceil(safety - 1e-9),
        reorder_point=math.ceil(reorder_point - 1e-9),
        suggested_qty=suggested,
        reorder_now=f.velocity > 0 and position <= reorder_point,
    )
