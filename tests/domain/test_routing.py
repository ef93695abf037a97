"""The routing engine: invariants under random inputs, and the decisions people expect."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from itertools import combinations
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.geo import GeoPoint
from domain.routing import (
    RoutingDecision,
    RoutingLine,
    RoutingLocation,
    RoutingProfile,
    route,
)
from domain.routing_profiles import (
    ALL_KINDS,
    DEFAULT_PROFILE,
    ProfileError,
    load_profile,
    load_profiles,
    profile_for,
)

LocationFactory = Callable[..., RoutingLocation]
SKUS = ("A", "B", "C")
LOCATION_IDS = tuple(f"L{i}" for i in range(8))

us_points = st.builds(
    GeoPoint,
    lat=st.floats(min_value=25, max_value=49, allow_nan=False),
    lon=st.floats(min_value=-124, max_value=-67, allow_nan=False),
)


@st.composite
def scenarios(draw: st.DrawFn, max_splits: int | None = None) -> dict[str, Any]:
    """Random lines, locations, stock, profile, exclusions and destination."""
    ids = draw(st.lists(st.sampled_from(LOCATION_IDS), min_size=2, max_size=8, unique=True))
    locations = [
        RoutingLocation(
            location_id=lid,
            kind=draw(st.sampled_from(ALL_KINDS)),
            lat=draw(st.floats(min_value=25, max_value=49)),
            lon=draw(st.floats(min_value=-124, max_value=-67)),
            active=draw(st.sampled_from([True] * 7 + [False])),
            daily_capacity=draw(st.sampled_from([0, 1, 3, 5])),
            used_capacity=draw(st.sampled_from([0, 0, 1])),
        )
        for lid in ids
    ]
    n_lines = draw(st.integers(1, 6))
    lines = [
        RoutingLine(
            line_id=f"line-{i}",
            sku=draw(st.sampled_from(SKUS)),
            quantity=draw(st.integers(1, 5)),
            weight_grams=draw(st.integers(0, 3000)),
        )
        for i in range(n_lines)
    ]
    stock = {
        (sku, lid): draw(st.integers(-1, 8))
        for sku in SKUS
        for lid in LOCATION_IDS
        if draw(st.integers(0, 2))
    }
    profile = RoutingProfile(
        max_splits=max_splits or draw(st.integers(1, 4)),
        allowed_kinds=draw(
            st.just(list(ALL_KINDS)) | st.lists(st.sampled_from(ALL_KINDS), min_size=1, unique=True)
        ),
        excluded_locations=draw(st.lists(st.sampled_from(LOCATION_IDS), max_size=1)),
        weight_distance=draw(st.floats(0, 0.05)),
        weight_cost=draw(st.floats(0, 3)),
        split_penalty=draw(st.floats(0, 20)),
        prefer_ship_complete=draw(st.booleans()),
        allow_partial=draw(st.sampled_from([True, True, False])),
    )
    return {
        "lines": lines,
        "destination": draw(st.none() | us_points),
        "locations": locations,
        "stock": stock,
        "profile": profile,
        "exclude": draw(st.lists(st.sampled_from(LOCATION_IDS), max_size=2)),
    }


def run(scenario: dict[str, Any]) -> RoutingDecision:
    return route(**scenario, candidate_limit=100)


def eligible_ids(scenario: dict[str, Any]) -> set[str]:
    """Locations the rules allow, whether or not they hold stock."""
    profile: RoutingProfile = scenario["profile"]
    excluded = set(scenario["exclude"]) | set(profile.excluded_locations)
    return {
        loc.location_id
        for loc in scenario["locations"]
        if loc.active
        and loc.kind in profile.allowed_kinds
        and loc.location_id not in excluded
        and loc.daily_capacity - loc.used_capacity > 0
    }


def demand_by_sku(lines: list[RoutingLine]) -> dict[str, int]:
    demand: dict[str, int] = defaultdict(int)
    for line in lines:
        demand[line.sku] += line.quantity
    return demand


PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(scenarios())
def test_allocated_plus_unallocated_is_what_was_ordered(scenario: dict[str, Any]) -> None:
    decision = run(scenario)
    got: dict[str, int] = defaultdict(int)
    for allocation in decision.allocations:
        assert allocation.quantity > 0
        got[allocation.line_id] += allocation.quantity
    for item in decision.unallocated:
        assert item.quantity > 0
        got[item.line_id] += item.quantity
    assert dict(got) == {line.line_id: line.quantity for line in scenario["lines"]}
    skus = {line.line_id: line.sku for line in scenario["lines"]}
    assert all(a.sku == skus[a.line_id] for a in decision.allocations)


@PROPERTY_SETTINGS
@given(scenarios())
def test_never_allocates_more_than_available(scenario: dict[str, Any]) -> None:
    decision = run(scenario)
    taken: dict[tuple[str, str], int] = defaultdict(int)
    for allocation in decision.allocations:
        taken[(allocation.sku, allocation.location_id)] += allocation.quantity
    for key, quantity in taken.items():
        assert quantity <= max(0, scenario["stock"].get(key, 0))


@PROPERTY_SETTINGS
@given(scenarios())
def test_respects_exclusions_kinds_activity_and_capacity(scenario: dict[str, Any]) -> None:
    decision = run(scenario)
    allowed = eligible_ids(scenario)
    assert {a.location_id for a in decision.allocations} <= allowed
    for candidate in decision.candidates:
        if candidate.eligible:
            assert candidate.location_id in allowed
        if candidate.chosen:
            assert candidate.eligible


@PROPERTY_SETTINGS
@given(scenarios())
def test_split_count_is_within_max_splits(scenario: dict[str, Any]) -> None:
    decision = run(scenario)
    used = {a.location_id for a in decision.allocations}
    assert decision.split_count == len(used) == len(decision.shipments)
    assert decision.split_count <= scenario["profile"].max_splits
    assert {s.location_id for s in decision.shipments} == used
    for shipment in decision.shipments:
        mine = [a for a in decision.allocations if a.location_id == shipment.location_id]
        assert shipment.units == sum(a.quantity for a in mine)
        assert shipment.line_ids == list(dict.fromkeys(a.line_id for a in mine))


@PROPERTY_SETTINGS
@given(scenarios())
def test_same_input_same_output(scenario: dict[str, Any]) -> None:
    first = run(scenario)
    assert run(scenario) == first
    # Nor does the order of locations or stock entries matter.
    shuffled = {
        **scenario,
        "locations": list(reversed(scenario["locations"])),
        "stock": dict(reversed(list(scenario["stock"].items()))),
    }
    assert run(shuffled) == first


@PROPERTY_SETTINGS
@given(scenarios())
def test_ship_complete_when_one_location_can_fill_everything(scenario: dict[str, Any]) -> None:
    profile: RoutingProfile = scenario["profile"]
    demand = demand_by_sku(scenario["lines"])
    complete = {
        lid
        for lid in eligible_ids(scenario)
        if all(scenario["stock"].get((sku, lid), 0) >= need for sku, need in demand.items())
    }
    decision = run(scenario)
    if not scenario["lines"] or not complete:
        return
    assert not decision.unallocated
    if profile.prefer_ship_complete:
        assert decision.ship_complete
        [chosen] = [c for c in decision.candidates if c.chosen]
        assert chosen.location_id in complete
        others = [c for c in decision.candidates if c.can_ship_complete]
        assert {c.location_id for c in others} == complete
        assert all(chosen.score <= c.score for c in others)


@PROPERTY_SETTINGS
@given(scenarios(max_splits=10))
def test_allocates_everything_available_when_splits_are_unlimited(
    scenario: dict[str, Any],
) -> None:
    decision = run(scenario)
    allowed = eligible_ids(scenario)
    short: dict[str, int] = defaultdict(int)
    for item in decision.unallocated:
        short[item.sku] += item.quantity
    for sku, need in demand_by_sku(scenario["lines"]).items():
        supply = sum(max(0, scenario["stock"].get((sku, lid), 0)) for lid in allowed)
        if scenario["profile"].allow_partial:
            assert short[sku] == max(0, need - supply)
        else:
            assert short[sku] in (0, need)


@PROPERTY_SETTINGS
@given(scenarios(), st.sampled_from([1, 2]))
def test_allocates_as_many_units_as_any_choice_of_locations(
    scenario: dict[str, Any], max_splits: int
) -> None:
    # With up to 8 locations the search is exhaustive for one or two shipments.
    update = {"allow_partial": True, "max_splits": max_splits}
    scenario["profile"] = scenario["profile"].model_copy(update=update)
    stock, demand = scenario["stock"], demand_by_sku(scenario["lines"])

    def units(group: tuple[str, ...]) -> int:
        return sum(
            min(need, sum(max(0, stock.get((sku, lid), 0)) for lid in group))
            for sku, need in demand.items()
        )

    allowed = sorted(eligible_ids(scenario))
    best = max(units(g) for r in range(max_splits + 1) for g in combinations(allowed, r))
    assert sum(a.quantity for a in run(scenario).allocations) == best


@PROPERTY_SETTINGS
@given(scenarios())
def test_all_or_nothing_without_partial_shipments(scenario: dict[str, Any]) -> None:
    scenario["profile"] = scenario["profile"].model_copy(update={"allow_partial": False})
    decision = run(scenario)
    assert not decision.unallocated or not decision.allocations


@PROPERTY_SETTINGS
@given(scenarios())
def test_explanation_names_every_chosen_location(scenario: dict[str, Any]) -> None:
    decision = run(scenario)
    assert decision.explanation
    for shipment in decision.shipments:
        assert shipment.location_id in decision.explanation
    assert RoutingDecision.model_validate_json(decision.model_dump_json()) == decision


# Examples: what an ops person expects.


def test_nearest_warehouse_wins_when_all_have_stock(
    warehouses: list[RoutingLocation], austin: GeoPoint, tshirt_order: list[RoutingLine]
) -> None:
    stock = {(line.sku, wh.location_id): 10 for line in tshirt_order for wh in warehouses}
    decision = route(tshirt_order, austin, warehouses, stock)
    assert [s.location_id for s in decision.shipments] == ["WH-DAL"]
    assert decision.ship_complete and decision.split_count == 1
    assert decision.explanation.startswith("Shipped complete from WH-DAL: ")
    assert "Next best: " in decision.explanation
    assert decision.candidates[0].location_id == "WH-DAL"
    assert decision.candidates[0].chosen


def test_ship_complete_beats_a_nearer_partial_location(
    warehouses: list[RoutingLocation], austin: GeoPoint, tshirt_order: list[RoutingLine]
) -> None:
    stock = {(line.sku, "WH-EAST"): 10 for line in tshirt_order}
    stock[("TSHIRT-M", "WH-DAL")] = 1
    stock[("MUG", "WH-DAL")] = 5
    decision = route(tshirt_order, austin, warehouses, stock)
    assert [s.location_id for s in decision.shipments] == ["WH-EAST"]
    assert "Shipped complete from WH-EAST" in decision.explanation
    assert "WH-DAL could not ship complete (insufficient stock for TSHIRT-M (has 1, needs 2)" in (
        decision.explanation
    )
    dal = next(c for c in decision.candidates if c.location_id == "WH-DAL")
    assert dal.eligible and not dal.can_ship_complete
    assert dal.reason == (
        "insufficient stock for TSHIRT-M (has 1, needs 2), TSHIRT-L (has 0, needs 1)"
    )


def test_split_when_no_location_can_fill_the_order(
    warehouses: list[RoutingLocation], austin: GeoPoint, tshirt_order: list[RoutingLine]
) -> None:
    stock = {("TSHIRT-M", "WH-EAST"): 5, ("TSHIRT-L", "WH-EAST"): 5, ("MUG", "WH-WEST"): 5}
    decision = route(tshirt_order, austin, warehouses, stock)
    assert decision.split_count == 2
    assert {s.location_id: s.line_ids for s in decision.shipments} == {
        "WH-EAST": ["1", "3"],
        "WH-WEST": ["2"],
    }
    assert not decision.unallocated
    assert decision.explanation.startswith("Split into 2 shipments: ")
    assert "No single eligible location could ship complete." in decision.explanation


def test_line_quantity_splits_only_when_necessary(
    warehouses: list[RoutingLocation], austin: GeoPoint
) -> None:
    lines = [RoutingLine(line_id="1", sku="A", quantity=4)]
    split = route(lines, austin, warehouses, {("A", "WH-EAST"): 2, ("A", "WH-WEST"): 3})
    assert sorted((a.location_id, a.quantity) for a in split.allocations) in (
        [("WH-EAST", 1), ("WH-WEST", 3)],
        [("WH-EAST", 2), ("WH-WEST", 2)],
    )
    whole = route(lines, austin, warehouses, {("A", "WH-EAST"): 4, ("A", "WH-WEST"): 3})
    assert [(a.location_id, a.quantity) for a in whole.allocations] == [("WH-EAST", 4)]


def test_lines_of_the_same_sku_share_stock(
    warehouses: list[RoutingLocation], austin: GeoPoint
) -> None:
    lines = [
        RoutingLine(line_id="1", sku="A", quantity=2),
        RoutingLine(line_id="2", sku="A", quantity=2),
    ]
    decision = route(lines, austin, warehouses, {("A", "WH-DAL"): 3})
    assert sum(a.quantity for a in decision.allocations) == 3
    assert [(u.line_id, u.quantity) for u in decision.unallocated] == [("2", 1)]
    assert "Backordered: 1 x A (line 2)." in decision.explanation


def test_excluded_inactive_full_and_disallowed_locations_are_skipped(
    location: LocationFactory, austin: GeoPoint
) -> None:
    locations = [
        location("A-EXCLUDED", 30.3, -97.7),
        location("B-INACTIVE", 30.3, -97.7, active=False),
        location("C-FULL", 30.3, -97.7, daily_capacity=5, used_capacity=5),
        location("D-DROPSHIP", 30.3, -97.7, kind="dropship"),
        location("E-FAR", 47.6, -122.3),
    ]
    stock = {("A", loc.location_id): 5 for loc in locations}
    profile = RoutingProfile(allowed_kinds=["warehouse", "store", "3pl"])
    lines = [RoutingLine(line_id="1", sku="A", quantity=1)]
    decision = route(lines, austin, locations, stock, profile, exclude=["A-EXCLUDED"])
    assert [a.location_id for a in decision.allocations] == ["E-FAR"]
    reasons = {c.location_id: c.reason for c in decision.candidates if not c.eligible}
    assert reasons == {
        "A-EXCLUDED": "excluded",
        "B-INACTIVE": "inactive",
        "C-FULL": "no capacity",
        "D-DROPSHIP": "kind not allowed",
    }
    assert "Excluded: A-EXCLUDED." in decision.explanation


def test_profile_exclusions_apply_too(warehouses: list[RoutingLocation], austin: GeoPoint) -> None:
    lines = [RoutingLine(line_id="1", sku="A", quantity=1)]
    stock = {("A", wh.location_id): 1 for wh in warehouses}
    profile = RoutingProfile(excluded_locations=["WH-DAL"])
    decision = route(lines, austin, warehouses, stock, profile)
    assert decision.shipments[0].location_id != "WH-DAL"


def test_nothing_allocated_without_partial_shipments(
    warehouses: list[RoutingLocation], austin: GeoPoint, tshirt_order: list[RoutingLine]
) -> None:
    stock = {("TSHIRT-M", "WH-DAL"): 2, ("MUG", "WH-DAL"): 1}
    profile = RoutingProfile(name="strict", allow_partial=False)
    decision = route(tshirt_order, austin, warehouses, stock, profile)
    assert decision.allocations == [] and decision.shipments == []
    assert sum(u.quantity for u in decision.unallocated) == 4
    assert "profile 'strict' does not allow partial shipments" in decision.explanation
    relaxed = route(tshirt_order, austin, warehouses, stock)
    assert [(u.line_id, u.quantity) for u in relaxed.unallocated] == [("3", 1)]


def test_one_location_only_takes_the_one_that_fills_most(
    warehouses: list[RoutingLocation], austin: GeoPoint, tshirt_order: list[RoutingLine]
) -> None:
    stock = {("TSHIRT-M", "WH-DAL"): 2, ("TSHIRT-L", "WH-EAST"): 1, ("MUG", "WH-EAST"): 1}
    decision = route(tshirt_order, austin, warehouses, stock, RoutingProfile(max_splits=1))
    assert [s.location_id for s in decision.shipments] == ["WH-DAL"]
    assert decision.explanation.startswith("Shipped what is available from WH-DAL")


def test_split_can_beat_a_distant_complete_location(location: LocationFactory) -> None:
    destination = GeoPoint(lat=40.7, lon=-74.0)
    locations = [
        location("NEAR-1", 40.8, -74.1),
        location("NEAR-2", 40.6, -73.9),
        location("FAR", 34.0, -118.2),
    ]
    lines = [
        RoutingLine(line_id="1", sku="A", quantity=1, weight_grams=4000),
        RoutingLine(line_id="2", sku="B", quantity=1, weight_grams=4000),
    ]
    stock = {("A", "NEAR-1"): 1, ("B", "NEAR-2"): 1, ("A", "FAR"): 1, ("B", "FAR"): 1}
    cheap_splits = RoutingProfile(split_penalty=0, prefer_ship_complete=False)
    split = route(lines, destination, locations, stock, cheap_splits)
    assert sorted(s.location_id for s in split.shipments) == ["NEAR-1", "NEAR-2"]
    assert "for shipping complete from FAR" in split.explanation
    complete = route(lines, destination, locations, stock)
    assert [s.location_id for s in complete.shipments] == ["FAR"]


def test_unknown_destination_still_routes(
    warehouses: list[RoutingLocation], tshirt_order: list[RoutingLine]
) -> None:
    stock = {(line.sku, "WH-WEST"): 3 for line in tshirt_order}
    decision = route(tshirt_order, None, warehouses, stock)
    assert [s.location_id for s in decision.shipments] == ["WH-WEST"]
    assert decision.shipments[0].distance_km is None
    assert "could not be geocoded" in decision.explanation


def test_no_locations_backorders_everything(tshirt_order: list[RoutingLine]) -> None:
    decision = route(tshirt_order, None, [], {})
    assert decision.allocations == [] and decision.split_count == 0
    assert sum(u.quantity for u in decision.unallocated) == 4
    assert "No eligible location" in decision.explanation
    assert decision.score is None


def test_empty_order(location: LocationFactory) -> None:
    decision = route([], None, [location("WH", 30, -97)], {})
    assert decision.allocations == [] and decision.unallocated == []
    assert "no lines" in decision.explanation


def test_negative_stock_counts_as_none(warehouses: list[RoutingLocation], austin: GeoPoint) -> None:
    lines = [RoutingLine(line_id="1", sku="A", quantity=1)]
    decision = route(lines, austin, warehouses, {("A", "WH-DAL"): -3, ("A", "WH-EAST"): 1})
    assert [a.location_id for a in decision.allocations] == ["WH-EAST"]


def test_duplicate_ids_are_refused(warehouses: list[RoutingLocation]) -> None:
    line = RoutingLine(line_id="1", sku="A", quantity=1)
    with pytest.raises(ValueError, match="line_id"):
        route([line, line], None, warehouses, {})
    with pytest.raises(ValueError, match="location_id"):
        route([line], None, [*warehouses, warehouses[0]], {})


def test_candidate_limit_keeps_the_chosen_location(location: LocationFactory) -> None:
    locations = [location(f"L{i:03d}", 25 + i * 0.05, -120 + i * 0.1) for i in range(200)]
    stock = {("A", loc.location_id): 1 for loc in locations}
    lines = [RoutingLine(line_id="1", sku="A", quantity=1)]
    decision = route(lines, GeoPoint(lat=35, lon=-100), locations, stock, candidate_limit=5)
    assert len(decision.candidates) == 5
    assert decision.candidates[0].chosen
    assert decision.candidates[0].location_id == decision.shipments[0].location_id


def test_many_lines_and_locations(location: LocationFactory) -> None:
    # Scale check of the invariants, not of speed: benchmarks measure that.
    locations = [location(f"L{i:03d}", 25 + (i % 24), -124 + (i * 7) % 57) for i in range(500)]
    lines = [RoutingLine(line_id=str(i), sku=f"S{i % 15}", quantity=1 + i % 3) for i in range(20)]
    stock = {
        (f"S{k}", loc.location_id): (i * 7 + k * 3) % 5
        for i, loc in enumerate(locations)
        for k in range(15)
        if (i + k) % 4 == 0
    }
    for max_splits in (1, 2, 3):
        profile = RoutingProfile(max_splits=max_splits)
        decision = route(lines, GeoPoint(lat=39, lon=-95), locations, stock, profile)
        assert decision.split_count <= max_splits
        taken: dict[tuple[str, str], int] = defaultdict(int)
        for a in decision.allocations:
            taken[(a.sku, a.location_id)] += a.quantity
        assert all(q <= stock[key] for key, q in taken.items())
        assert len(decision.candidates) == 25


# Profiles.


def test_default_profile() -> None:
    assert DEFAULT_PROFILE.name == "default"
    assert DEFAULT_PROFILE.max_splits == 2
    assert set(DEFAULT_PROFILE.allowed_kinds) == {"warehouse", "store", "3pl", "dropship"}
    assert DEFAULT_PROFILE.prefer_ship_complete and DEFAULT_PROFILE.allow_partial


def test_load_profile_from_parsed_config() -> None:
    profile = load_profile(
        {
            "max_splits": 3,
            "allowed_kinds": ["warehouse", "store"],
            "excluded_locations": ["WH-OLD"],
            "weight_distance": 0.01,
            "weight_cost": 2,
            "split_penalty": "7.5",
            "prefer_ship_complete": False,
        },
        name="marketplace",
    )
    assert profile.name == "marketplace"
    assert profile.max_splits == 3
    assert profile.allowed_kinds == ["warehouse", "store"]
    assert profile.split_penalty == 7.5
    assert load_profile(profile.model_dump(mode="json")) == profile


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"max_splits": 0}, "max_splits"),
        ({"weight_cost": -1}, "weight_cost"),
        ({"weight_distance": "inf"}, "weight_distance"),
        ({"allowed_kinds": ["warehouse", "spaceport"]}, "allowed_kinds.1"),
        ({"allowed_kinds": []}, "allowed_kinds"),
        ({"split_penalti": 3}, "split_penalti"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_profiles_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ProfileError, match=field):
        load_profile(data)


def test_load_profiles_by_name() -> None:
    profiles = load_profiles({"amazon": {"max_splits": 1}, "pos": None})
    assert set(profiles) == {"amazon", "pos", "default"}
    assert profiles["amazon"].name == "amazon"
    assert profile_for(profiles, "amazon").max_splits == 1
    assert profile_for(profiles, "unknown") == DEFAULT_PROFILE
    assert profile_for(profiles, None) == DEFAULT_PROFILE
    with pytest.raises(ProfileError, match=r"profiles\.web\.name"):
        load_profiles({"web": {"name": "other"}})
    with pytest.raises(ProfileError, match="mapping"):
        load_profiles({"web": [1, 2]})
