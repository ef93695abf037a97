"""Routing: choose the location(s) an order ships from, and record why.

`route` is a pure function of its inputs (no clock, no I/O, no randomness; ties go to the
smaller location id), so a workflow can call it directly and a replay gets the same answer.

A plan's score is the sum over its shipments of `weight_distance * km + weight_cost * est. cost`,
plus `split_penalty` per shipment beyond the first; allocating more units always beats a lower
score. If a location can ship everything and the profile prefers shipping complete, the best such
location wins outright. Otherwise a beam search over a small pool of the most useful locations
looks for the best set of at most `max_splits` locations, and lines are placed on that set whole
where possible, split across locations only when no single member holds enough.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from heapq import nsmallest
from operator import mul, sub

from pydantic import BaseModel, Field

from domain.geo import GeoPoint, distances_km
from domain.routing_profiles import DEFAULT_PROFILE, LocationKind
from domain.routing_profiles import RoutingProfile as RoutingProfile  # re-exported
from domain.shipping_cost import MAX_ZONE, billable_lb, estimate_for_pounds, zone_for_distance

BEAM_WIDTH = 8  # partial plans kept per depth of the split search
POOL_BY_COVERAGE = 12  # locations that can supply the most units
POOL_BY_SCORE = 8  # locations that are cheapest to ship the order from
POOL_PER_SKU = 2  # best holders of a SKU the pool cannot fill, so no SKU is left out
FINALISTS = 4  # plans re-scored with exact line placement
MAX_SHORTAGES_SHOWN = 3


class RoutingLocation(BaseModel):
    """A place that can ship: a warehouse, a store, a 3PL or a dropship vendor."""

    location_id: str = Field(min_length=1)
    kind: LocationKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    active: bool = True
    # Shipments per day; an order takes at most one shipment from a location.
    daily_capacity: int = Field(ge=0)
    used_capacity: int = Field(default=0, ge=0)

    @property
    def remaining_capacity(self) -> int:
        """Shipments this location can still take today."""
        return max(0, self.daily_capacity - self.used_capacity)


class RoutingLine(BaseModel):
    """An order line to place; `weight_grams` is per unit."""

    line_id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    weight_grams: int = Field(default=500, ge=0)


class Allocation(BaseModel):
    """Units of a line assigned to a location (the fields of a reservation)."""

    line_id: str
    sku: str
    location_id: str
    quantity: int


class UnallocatedLine(BaseModel):
    """Units of a line that no eligible location can supply: they are backordered."""

    line_id: str
    sku: str
    quantity: int


class Shipment(BaseModel):
    """One parcel: the lines (or parts of lines) leaving one location."""

    location_id: str
    line_ids: list[str]
    units: int
    weight_grams: int
    distance_km: float | None
    est_cost: Decimal


class CandidateScore(BaseModel):
    """How a location fared; distance, cost and score are for shipping the whole order from it."""

    location_id: str
    distance_km: float | None
    est_cost: Decimal
    score: float
    eligible: bool
    can_ship_complete: bool = False
    chosen: bool = False
    reason: str


class RoutingDecision(BaseModel):
    """The outcome of `route`, with enough detail to answer "why this warehouse?"."""

    profile: str
    allocations: list[Allocation]
    unallocated: list[UnallocatedLine]
    shipments: list[Shipment]
    split_count: int
    ship_complete: bool
    est_cost: Decimal
    score: float | None
    destination: GeoPoint | None
    candidates: list[CandidateScore]
    explanation: str


def _cost(zone: int, grams: int) -> Decimal:
    return _parcel(zone, billable_lb(grams))[0]


def _cost_f(zone: int, grams: int) -> float:
    return _parcel(zone, billable_lb(grams))[1]


@lru_cache(maxsize=4096)
def _parcel(zone: int, pounds: int) -> tuple[Decimal, float]:
    # The search prices thousands of candidate parcels: Decimal math once per (zone, lb).
    cost = estimate_for_pounds(zone, pounds)
    return cost, float(cost)


@dataclass(slots=True)
class _Site:
    id: str
    vec: tuple[int, ...]  # usable units per SKU, capped at the order's demand
    distance: float | None
    zone: int
    fixed: float  # weight_distance * km, paid once per shipment from here
    whole_cost: Decimal  # shipping the whole order from here
    score: float
    complete: bool
    covered: int
    rank: int = 0  # position when ordered by (score, id)


@dataclass(slots=True)
class _Plan:
    sites: list[_Site]  # locations actually used, best rank first
    pieces: list[list[tuple[_Site, int]]]  # per line, in line order
    grams: dict[str, int]  # per location id
    score: float
    short: int  # units left unallocated

    def key(self) -> tuple[int, float, tuple[str, ...]]:
        return (self.short, self.score, tuple(sorted(s.id for s in self.sites)))


@dataclass(slots=True, frozen=True)
class _Context:
    lines: Sequence[RoutingLine]
    skus: list[str]  # distinct SKUs in order of first appearance
    demand: list[int]  # units per SKU, summed over its lines
    total_grams: int
    destination: GeoPoint | None
    profile: RoutingProfile


def route(
    lines: Sequence[RoutingLine],
    destination: GeoPoint | None,
    locations: Sequence[RoutingLocation],
    stock: Mapping[tuple[str, str], int],
    profile: RoutingProfile = DEFAULT_PROFILE,
    exclude: Collection[str] = (),
    *,
    candidate_limit: int = 25,
) -> RoutingDecision:
    """Allocate order lines to locations; `stock` maps (sku, location_id) to ATP units.

    `candidate_limit` caps the recorded candidates (chosen locations are always kept) so the
    decision stays small in workflow history even with hundreds of locations.
    """
    _check_unique([line.line_id for line in lines], "line_id")
    _check_unique([loc.location_id for loc in locations], "location_id")
    skus = list(dict.fromkeys(line.sku for line in lines))
    demand = [sum(ln.quantity for ln in lines if ln.sku == sku) for sku in skus]
    total_grams = sum(line.quantity * line.weight_grams for line in lines)
    ctx = _Context(lines, skus, demand, total_grams, destination, profile)
    excluded = set(exclude) | set(profile.excluded_locations)

    ordered = sorted(locations, key=lambda item: item.location_id)
    reasons = [_ineligible_reason(loc, profile, excluded) for loc in ordered]
    open_ids = [loc.location_id for loc, why in zip(ordered, reasons, strict=True) if not why]
    held = _stock_vectors(stock, ctx, open_ids)
    sites = _make_sites([loc for loc in ordered if loc.location_id in held], held, ctx)
    rejected = [
        (loc, why or "no stock of any ordered SKU")
        for loc, why in zip(ordered, reasons, strict=True)
        if why or loc.location_id not in held
    ]

    best_complete = next((s for s in sites if s.complete), None)
    plans = [_assign([best_complete], ctx)] if best_complete is not None else []
    if sites and not (plans and profile.prefer_ship_complete):
        plans += [_assign(group, ctx) for group in _search(sites, ctx)]
    plan = min(plans, key=_Plan.key) if plans else None
    refused = plan is not None and plan.short > 0 and not profile.allow_partial
    if plan is None or refused:
        plan = _Plan([], [[] for _ in lines], {}, 0.0, sum(demand))
    return _decision(plan, sites, rejected, refused, ctx, candidate_limit)


def eligible_locations(
    locations: Sequence[RoutingLocation], profile: RoutingProfile, exclude: Collection[str] = ()
) -> list[str]:
    """Locations the order may ship from at all (active, kind allowed, not excluded).

    Daily capacity is left out: a backordered line waits for stock at any of these, whatever
    today's load.
    """
    excluded = set(exclude) | set(profile.excluded_locations)
    return sorted(
        loc.location_id
        for loc in locations
        if loc.location_id not in excluded and loc.active and loc.kind in profile.allowed_kinds
    )


def _check_unique(values: list[str], field: str) -> None:
    if len(set(values)) != len(values):
        duplicate = next(v for v, n in Counter(values).items() if n > 1)
        raise ValueError(f"{field}: duplicate {duplicate!r}")


def _ineligible_reason(
    loc: RoutingLocation, profile: RoutingProfile, excluded: set[str]
) -> str | None:
    if loc.location_id in excluded:
        return "excluded"
    if not loc.active:
        return "inactive"
    if loc.kind not in profile.allowed_kinds:
        return "kind not allowed"
    if loc.remaining_capacity <= 0:
        return "no capacity"
    return None


def _stock_vectors(
    stock: Mapping[tuple[str, str], int], ctx: _Context, location_ids: list[str]
) -> dict[str, tuple[int, ...]]:
    """Usable units per SKU (capped at demand) for each location holding any ordered SKU."""
    skus, demand = ctx.skus, ctx.demand
    if len(stock) < 2 * len(skus) * len(location_ids):
        # Callers usually pass only the order's SKUs: scanning those beats probing every pair.
        index = {sku: i for i, sku in enumerate(skus)}
        wanted = set(location_ids)
        found: dict[str, list[int]] = {}
        for (sku, lid), units in stock.items():
            if units > 0 and lid in wanted and sku in index:
                i = index[sku]
                vec = found.get(lid)
                if vec is None:
                    vec = found[lid] = [0] * len(skus)
                vec[i] = units if units < demand[i] else demand[i]
        return {lid: tuple(vec) for lid, vec in found.items()}
    out: dict[str, tuple[int, ...]] = {}
    get = stock.get
    for lid in location_ids:
        raw = [get((sku, lid), 0) for sku in skus]
        if raw and max(raw) > 0:
            capped = zip(raw, demand, strict=True)
            out[lid] = tuple([d if u >= d else (u if u > 0 else 0) for u, d in capped])
    return out


def _distances(
    locations: Sequence[RoutingLocation], destination: GeoPoint | None
) -> list[float | None]:
    if destination is None:
        # Unknown destination: the farthest zone everywhere, so cost still ranks by weight.
        return [None] * len(locations)
    return list(distances_km(destination, [(loc.lat, loc.lon) for loc in locations]))


def _make_sites(
    locations: list[RoutingLocation], held: dict[str, tuple[int, ...]], ctx: _Context
) -> list[_Site]:
    """Score each stocked location for shipping the whole order; best (score, id) first."""
    weight_distance, weight_cost = ctx.profile.weight_distance, ctx.profile.weight_cost
    # Every location ships the same whole-order weight, so its cost depends on the zone only.
    whole = {zone: _cost(zone, ctx.total_grams) for zone in range(1, MAX_ZONE + 1)}
    whole_f = {zone: _cost_f(zone, ctx.total_grams) for zone in whole}
    total = sum(ctx.demand)
    sites = []
    for loc, km in zip(locations, _distances(locations, ctx.destination), strict=True):
        vec = held[loc.location_id]
        zone = MAX_ZONE if km is None else zone_for_distance(km)
        fixed = weight_distance * (km or 0.0)
        score = fixed + weight_cost * whole_f[zone]
        covered = sum(vec)
        site = _Site(loc.location_id, vec, km, zone, fixed, whole[zone], score, False, covered)
        site.complete = covered == total
        sites.append(site)
    sites.sort(key=lambda s: (s.score, s.id))
    for rank, site in enumerate(sites):
        site.rank = rank
    return sites


def _pool(sites: list[_Site], demand: list[int]) -> list[_Site]:
    """The locations worth combining: most units, cheapest, and holders of SKUs still short."""
    picked = {s.id: s for s in nsmallest(POOL_BY_COVERAGE, sites, key=_by_coverage)}
    for site in sites[:POOL_BY_SCORE]:
        picked.setdefault(site.id, site)
    have = [sum(col) for col in zip(*(s.vec for s in picked.values()), strict=True)]
    for i, need in enumerate(demand):
        if have[i] < need:
            holders = [s for s in sites if s.vec[i] and s.id not in picked]
            for site in nsmallest(POOL_PER_SKU, holders, key=lambda s: (-s.vec[i], s.rank)):
                picked[site.id] = site
    return sorted(picked.values(), key=lambda s: s.rank)


def _by_coverage(site: _Site) -> tuple[int, int]:
    return (-site.covered, site.rank)


# A search state: (units short, approximate score, sorted member ids, members, units left).
_State = tuple[int, float, tuple[str, ...], tuple[_Site, ...], tuple[int, ...]]


def _search(sites: list[_Site], ctx: _Context) -> list[list[_Site]]:
    """Beam search over sets of up to `max_splits` locations; returns the finalist sets."""
    profile = ctx.profile
    grams = dict.fromkeys(ctx.skus, 0)
    for line in ctx.lines:
        grams[line.sku] += line.quantity * line.weight_grams
    unit_grams = [grams[sku] / need for sku, need in zip(ctx.skus, ctx.demand, strict=True)]
    pool = _pool(sites, ctx.demand)
    beam: list[_State] = [(sum(ctx.demand), 0.0, (), (), tuple(ctx.demand))]
    finals: dict[tuple[str, ...], _State] = {}
    for _depth in range(profile.max_splits):
        seen: dict[tuple[str, ...], _State] = {}
        for short, score, ids, members, left in beam:
            for site in pool if short else ():
                if site.id in ids:
                    continue
                key = tuple(sorted((*ids, site.id)))
                if key in seen:
                    continue
                take = list(map(min, site.vec, left))
                gained = sum(take)
                if not gained:
                    continue
                weight = int(sum(map(mul, take, unit_grams)))
                added = site.fixed + profile.weight_cost * _cost_f(site.zone, weight)
                added += profile.split_penalty if members else 0.0
                rest = tuple(map(sub, left, take))
                seen[key] = (short - gained, score + added, key, (*members, site), rest)
        if not seen:
            break
        beam = sorted(seen.values(), key=lambda st: st[:3])[:BEAM_WIDTH]
        finals.update((st[2], st) for st in beam)
    best = sorted(finals.values(), key=lambda st: st[:3])[:FINALISTS]
    return [list(st[3]) for st in best]


def _assign(group: list[_Site], ctx: _Context) -> _Plan:
    """Place lines on a set of locations: whole lines where possible, split only when needed."""
    lines, weight_cost = ctx.lines, ctx.profile.weight_cost
    index = {sku: i for i, sku in enumerate(ctx.skus)}
    left = {s.id: list(s.vec) for s in group}
    used: dict[str, _Site] = {}
    pieces: list[list[tuple[_Site, int]]] = [[] for _ in lines]
    # Biggest lines first: they are the hardest to place whole.
    for i in sorted(range(len(lines)), key=lambda i: (-lines[i].quantity, i)):
        qty, k = lines[i].quantity, index[lines[i].sku]
        # Joining a shipment already planned beats opening another one.
        prefer = sorted(group, key=lambda s: (s.id not in used, s.rank))
        whole = next((s for s in prefer if left[s.id][k] >= qty), None)
        for site in [whole] if whole is not None else prefer:
            take = min(qty, left[site.id][k])
            if take:
                pieces[i].append((site, take))
                left[site.id][k] -= take
                qty -= take
                used.setdefault(site.id, site)
    grams = dict.fromkeys(used, 0)
    for line, placed in zip(lines, pieces, strict=True):
        placed.sort(key=lambda p: p[0].rank)
        for site, qty in placed:
            grams[site.id] += qty * line.weight_grams
    chosen = sorted(used.values(), key=lambda s: s.rank)
    score = ctx.profile.split_penalty * max(0, len(chosen) - 1)
    score += sum(s.fixed + weight_cost * _cost_f(s.zone, grams[s.id]) for s in chosen)
    short = sum(ln.quantity - sum(q for _, q in p) for ln, p in zip(lines, pieces, strict=True))
    return _Plan(chosen, pieces, grams, score, short)


def _decision(
    plan: _Plan,
    sites: list[_Site],
    rejected: list[tuple[RoutingLocation, str]],
    refused: bool,
    ctx: _Context,
    limit: int,
) -> RoutingDecision:
    allocations: list[Allocation] = []
    unallocated: list[UnallocatedLine] = []
    line_ids: dict[str, list[str]] = {s.id: [] for s in plan.sites}
    units = dict.fromkeys(line_ids, 0)
    for line, placed in zip(ctx.lines, plan.pieces, strict=True):
        for site, qty in placed:
            allocations.append(
                Allocation(line_id=line.line_id, sku=line.sku, location_id=site.id, quantity=qty)
            )
            line_ids[site.id].append(line.line_id)
            units[site.id] += qty
        short = line.quantity - sum(q for _, q in placed)
        if short:
            unallocated.append(UnallocatedLine(line_id=line.line_id, sku=line.sku, quantity=short))
    shipments = [
        Shipment(
            location_id=s.id,
            line_ids=line_ids[s.id],
            units=units[s.id],
            weight_grams=plan.grams[s.id],
            distance_km=_km(s.distance),
            est_cost=_cost(s.zone, plan.grams[s.id]),
        )
        for s in plan.sites
    ]
    return RoutingDecision(
        profile=ctx.profile.name,
        allocations=allocations,
        unallocated=unallocated,
        shipments=shipments,
        split_count=len(shipments),
        ship_complete=len(shipments) == 1 and not unallocated,
        est_cost=sum((s.est_cost for s in shipments), Decimal("0.00")),
        score=round(plan.score, 4) if shipments else None,
        destination=ctx.destination,
        candidates=_candidates(sites, rejected, plan, ctx, limit),
        explanation=_explain(plan, shipments, unallocated, sites, rejected, refused, ctx),
    )


def _km(distance: float | None) -> float | None:
    return None if distance is None else round(distance, 1)


def _stock_reason(site: _Site, ctx: _Context) -> str:
    if site.complete:
        return "can ship complete"
    short = [
        f"{sku} (has {has}, needs {need})"
        for sku, has, need in zip(ctx.skus, site.vec, ctx.demand, strict=True)
        if has < need
    ]
    more = len(short) - MAX_SHORTAGES_SHOWN
    text = ", ".join(short[:MAX_SHORTAGES_SHOWN])
    return f"insufficient stock for {text}" + (f" and {more} more SKUs" if more > 0 else "")


def _candidates(
    sites: list[_Site],
    rejected: list[tuple[RoutingLocation, str]],
    plan: _Plan,
    ctx: _Context,
    limit: int,
) -> list[CandidateScore]:
    """Chosen locations first, then other eligible ones best first, then ineligible ones."""
    chosen = {s.id for s in plan.sites}
    ordered = sorted(sites, key=lambda s: (s.id not in chosen, not s.complete, s.rank))
    out = [
        CandidateScore(
            location_id=site.id,
            distance_km=_km(site.distance),
            est_cost=site.whole_cost,
            score=round(site.score, 4),
            eligible=True,
            can_ship_complete=site.complete,
            chosen=site.id in chosen,
            reason=_stock_reason(site, ctx),
        )
        for site in ordered[: max(limit, len(chosen))]
    ]
    profile, shown = ctx.profile, rejected[: max(0, limit - len(out))]
    kms = _distances([loc for loc, _ in shown], ctx.destination)
    for (loc, reason), km in zip(shown, kms, strict=True):
        cost = _cost(MAX_ZONE if km is None else zone_for_distance(km), ctx.total_grams)
        score = profile.weight_distance * (km or 0.0) + profile.weight_cost * float(cost)
        out.append(
            CandidateScore(
                location_id=loc.location_id,
                distance_km=_km(km),
                est_cost=cost,
                score=round(score, 4),
                eligible=False,
                reason=reason,
            )
        )
    return out


def _where(distance: float | None, cost: Decimal) -> str:
    place = "distance unknown" if distance is None else f"{distance:,.0f} km"
    return f"{place}, est. ${cost:,.2f}"


def _explain(
    plan: _Plan,
    ships: list[Shipment],
    unallocated: list[UnallocatedLine],
    sites: list[_Site],
    rejected: list[tuple[RoutingLocation, str]],
    refused: bool,
    ctx: _Context,
) -> str:
    """One paragraph answering "why this warehouse?" for people reading the order timeline."""
    parts: list[str] = []
    if ctx.destination is None:
        parts.append("Destination could not be geocoded; locations ranked by estimated cost.")
    if not ctx.lines:
        parts.append("Nothing to route: the order has no lines.")
    elif not sites:
        counts = Counter(reason for _, reason in rejected)
        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
        parts.append(f"No eligible location ({detail or 'no locations'}).")
    elif refused:
        parts.append(
            f"Nothing allocated: profile {ctx.profile.name!r} does not allow partial shipments "
            "and some units are not available at any eligible location."
        )
    elif len(ships) == 1:
        label = "Shipped what is available from" if unallocated else "Shipped complete from"
        parts.append(
            f"{label} {ships[0].location_id}: {_where(ships[0].distance_km, ships[0].est_cost)}."
        )
    else:
        desc = "; ".join(
            f"{s.location_id} (line{'s' if len(s.line_ids) > 1 else ''} {', '.join(s.line_ids)}; "
            f"{_where(s.distance_km, s.est_cost)})"
            for s in ships
        )
        parts.append(f"Split into {len(ships)} shipments: {desc}.")

    chosen = {s.id for s in plan.sites}
    best_complete = next((s for s in sites if s.complete), None)
    if ships and (len(ships) > 1 or unallocated):
        if best_complete is None:
            parts.append("No single eligible location could ship complete.")
        elif best_complete.id not in chosen:
            parts.append(
                f"Split scores {plan.score:.2f} against {best_complete.score:.2f} for shipping "
                f"complete from {best_complete.id}."
            )
    elif ships:
        runner = next((s for s in sites if s.complete and s.id not in chosen), None)
        if runner is not None:
            parts.append(f"Next best: {runner.id} ({_where(runner.distance, runner.whole_cost)}).")
    # Locations ranked above one that was chosen answer "why not the nearer one?".
    worst = max((s.rank for s in plan.sites), default=len(sites))
    passed = [s for s in sites if s.id not in chosen and not s.complete and s.rank < worst]
    parts += [f"{s.id} could not ship complete ({_stock_reason(s, ctx)})." for s in passed[:2]]
    excluded = [loc.location_id for loc, reason in rejected if reason == "excluded"]
    if excluded:
        more = f" and {len(excluded) - 5} more" if len(excluded) > 5 else ""
        parts.append(f"Excluded: {', '.join(excluded[:5])}{more}.")
    if unallocated:
        short = ", ".join(f"{u.quantity} x {u.sku} (line {u.line_id})" for u in unallocated)
        parts.append(f"Backordered: {short}.")
    return " ".join(parts)
