"""Sharing a scarce SKU's network ATP between the channels that sell it.

Shown whole to every channel, N units can be sold N times over: each platform counts down
only its own sales, and hears of the others' a push later. Below a threshold (units per
selling channel) the OMS gives each channel a share instead; the shares never add up to more
than network ATP, and a channel's own sales count its share down on both sides (the platform
and the OMS at intake), so no push is needed for them and none can race them.

A push sets an absolute level, so lowering a channel that is selling may erase a sale in
flight: shares are only taken back from a channel holding well over its fair share, never in
the last units of a sale, and a channel's share only grows from units nobody holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# A channel keeps up to this many units over its fair share (or a quarter of it, when more)
# rather than be lowered while it sells.
KEEP_OVER_FAIR = 3


def shares_apply(atp: int, channels: int, share_below: int) -> bool:
    """Whether the SKU is scarce enough to be shared out (`share_below` 0: never)."""
    return share_below > 0 and channels > 0 and atp < share_below * channels


def fair_shares(atp: int, channels: Sequence[str]) -> dict[str, int]:
    """`atp` split evenly; the remainder goes to the first channels in name order."""
    ordered = sorted(channels)
    base, extra = divmod(max(0, atp), len(ordered))
    return {c: base + (1 if i < extra else 0) for i, c in enumerate(ordered)}


def share_out(atp: int, channels: Sequence[str], held: Mapping[str, int]) -> dict[str, int]:
    """New shares from what each channel holds now (absent: nothing yet).

    The result never sums above `atp`; a channel is lowered only when the shares together
    exceed `atp` (stock left another way) or when it holds more than its fair share plus
    `KEEP_OVER_FAIR`; units nobody holds go to the channels furthest below their fair share.
    """
    atp = max(0, atp)
    fair = fair_shares(atp, channels)
    shares = {c: max(0, held.get(c, 0)) for c in sorted(channels)}
    for c in shares:  # take back only the excess well over fair
        keep = fair[c] + max(KEEP_OVER_FAIR, fair[c] // 4)
        if shares[c] > keep:
            shares[c] = keep
    deficit = sum(shares.values()) - atp
    # Stock left another way: lower the channels most over their fair share first.
    while deficit > 0:
        c = max(shares, key=lambda k: (shares[k] - fair[k], shares[k], k))
        cut = min(deficit, shares[c])
        if cut <= 0:
            break
        step = max(1, min(cut, shares[c] - fair[c])) if shares[c] > fair[c] else cut
        shares[c] -= step
        deficit -= step
    free = atp - sum(shares.values())
    # Units nobody holds: to the channels furthest below their fair share.
    while free > 0:
        c = max(shares, key=lambda k: (fair[k] - shares[k], -shares[k], k))
        if shares[c] >= fair[c]:
            break
        shares[c] += 1
        free -= 1
    return shares
