"""Channel shares of a scarce SKU never add up to more than network ATP."""

from __future__ import annotations

import random

from domain.allocation import fair_shares, share_out, shares_apply


def test_first_shares_are_fair_and_whole() -> None:
    assert share_out(100, ["b", "a", "c"], {}) == {"a": 34, "b": 33, "c": 33}
    assert fair_shares(2, ["x", "y", "z"]) == {"x": 1, "y": 1, "z": 0}


def test_only_scarce_skus_are_shared() -> None:
    assert shares_apply(149, 3, 50) and not shares_apply(150, 3, 50)
    assert not shares_apply(1, 3, 0)


def test_a_selling_channel_is_not_lowered_in_the_last_units() -> None:
    # Near the end of a sale a channel holding a little over its fair share keeps it: a push
    # lowering it could erase a sale in flight there.
    assert share_out(9, ["a", "b", "c"], {"a": 0, "b": 5, "c": 4}) == {"a": 0, "b": 5, "c": 4}


def test_a_selling_channel_keeps_its_share_while_quiet_ones_rebalance() -> None:
    held = {"a": 2, "b": 30, "c": 28}
    # All quiet: b and c give back what they hold over fair (20 + a quarter), a gets it.
    assert share_out(60, ["a", "b", "c"], held) == {"a": 10, "b": 25, "c": 25}
    # b and c are selling: a push to them would erase their sales in flight; a gets nothing.
    assert share_out(60, ["a", "b", "c"], held, {"b", "c"}) == held
    # Only b sells: c (quiet, over fair) gives back to a; b is left alone.
    assert share_out(60, ["a", "b", "c"], held, {"b"}) == {"a": 5, "b": 30, "c": 25}


def test_stock_that_left_comes_off_quiet_channels_first() -> None:
    held = {"a": 5, "b": 20, "c": 20}
    assert share_out(40, ["a", "b", "c"], held, {"b", "c"}) == {"a": 0, "b": 20, "c": 20}
    lowered = share_out(30, ["a", "b", "c"], held, {"b", "c"})
    assert lowered["a"] == 0 and sum(lowered.values()) == 30


def test_free_units_wait_while_every_channel_sells() -> None:
    assert share_out(30, ["a", "b"], {"a": 5, "b": 5}, {"a", "b"}) == {"a": 5, "b": 5}


def test_shares_never_exceed_atp_and_only_grow_from_free_units() -> None:
    rng = random.Random(7)
    channels = ["amazon", "conn:a", "conn:b", "ebay"]
    for _ in range(3000):
        atp = rng.randint(0, 60)
        held = {c: rng.randint(0, 30) for c in channels if rng.random() < 0.8}
        selling = {c for c in channels if rng.random() < 0.4}
        new = share_out(atp, channels, held, selling)
        assert sum(new.values()) <= atp
        assert all(v >= 0 for v in new.values())
        if sum(held.values()) <= atp:  # nothing left another way: grows only from free units
            free = atp - sum(held.values())
            grown = sum(max(0, new[c] - held.get(c, 0)) for c in channels)
            assert grown <= free + sum(max(0, held.get(c, 0) - new[c]) for c in channels)
            # and a selling channel is never pushed a new level
            assert all(new[c] == held.get(c, 0) for c in selling)
