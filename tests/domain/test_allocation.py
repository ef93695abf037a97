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


def test_shares_never_exceed_atp_and_only_grow_from_free_units() -> None:
    rng = random.Random(7)
    channels = ["amazon", "conn:a", "conn:b", "ebay"]
    for _ in range(3000):
        atp = rng.randint(0, 60)
        held = {c: rng.randint(0, 30) for c in channels if rng.random() < 0.8}
        new = share_out(atp, channels, held)
        assert sum(new.values()) <= atp
        assert all(v >= 0 for v in new.values())
        if sum(held.values()) <= atp:  # nothing left another way: grows only from free units
            free = atp - sum(held.values())
            grown = sum(max(0, new[c] - held.get(c, 0)) for c in channels)
            assert grown <= free + sum(max(0, held.get(c, 0) - new[c]) for c in channels)
