"""Sharing a scarce SKU's network ATP between the channels that sell it.

Shown whole to every channel, N units can be sold N times over: each platform counts down
only its own sales, and hears of the others' a push later. Below a threshold (units per
selling channel) the OMS gives each channel a share instead; the shares never add up to more
than network ATP, and a channel's own sales count its share down on both sides (the platform
and the OMS at intake), so no push is needed for them and none can race them.

A push sets an absolute level, so any push to a channel that is selling erases the sales it
made that the OMS has not heard of yet (they are in flight to the API), raising or lowering
alike: measured at 50 orders/s, that alone oversold 7-17 units of 100. So a channel that sold
in the last `QUIET_S` seconds keeps its share as it is; shares move only between quiet
channels (taken back from one holding well over its fair share, given from units nobody
holds), and a selling channel is lowered only when stock left another way and the quiet ones
cannot cover it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

# A channel keeps up to this many units over its fair share (or a quarter of it, when more)
# rather than be lowered while it sells.
KEEP_OVER_FAIR = 3
# A channel that sold this recently is "selling": its orders may still be on their way.
QUIET_S = 5.0


def shares_apply(atp: int, channels: int, share_below: int) -> bool:
    """Whether the SKU is scarce enough to be shared out (`share_below` 0: never)."""
    return share_below > 0 and channels > 0 and atp < share_below * channels


def fair_shares(atp: int, channels: Sequence[str]) -> dict[str, int]:
    """`atp` split evenly; the remainder goes to the first channels in name order."""
    ordered = sorted(channels)
    base, extra = divmod(max(0, atp), len(ordered))
    return {c: base + (1 if i < extra else 0) for i, c in enumerate(ordered)}


def share_out(
    atp: int,
    channels: Sequence[str],
    held: Mapping[str, int],
    selling: Collection[str] = (),
) -> dict[str, int]:
    """New shares from what each channel holds now (absent: nothing yet).

    The result never sums above `atp`. Channels in `selling` keep what they hold unless the
    shares together exceed `atp` (stock left another way) and the quiet channels cannot give
    it back. A quiet channel is lowered when it holds more than its fair share plus
    `KEEP_OVER_FAIR` and another quiet one is below its fair share; units nobody holds go
    to the quiet channels furthest below their fair share (left unshared while every channel
    is selling, until one goes quiet).
    """
    atp = max(0, atp)
    fair = fair_shares(atp, channels)
    shares = {c: max(0, held.get(c, 0)) for c in sorted(channels)}
    quiet = [c for c in shares if c not in selling]
    if any(shares[c] < fair[c] for c in quiet):  # someone quiet could use it
        for c in quiet:  # take back only the excess well over fair
            keep = fair[c] + max(KEEP_OVER_FAIR, fair[c] // 4)
            if shares[c] > keep:
                shares[c] = keep
    deficit = sum(shares.values()) - atp
    # Stock left another way: quiet channels first, then the selling ones (it is gone).
    for group in (quiet, list(shares)):
        deficit = _lower(shares, fair, group, deficit)
    free = atp - sum(shares.values())
    # Units nobody holds: to the quiet channels furthest below their fair share.
    while free > 0 and quiet:
        c = max(quiet, key=lambda k: (fair[k] - shares[k], -shares[k], k))
        if shares[c] >= fair[c]:
            break
        shares[c] += 1
        free -= 1
    return shares


def _lower(shares: dict[str, int], fair: Mapping[str, int], group: list[str], deficit: int) -> int:
    """Lower channels of `group` (most over their fair share first) by up to `deficit`."""
    while deficit > 0:
        candidates = [c for c in group if shares[c] > 0]
        if not candidates:
            break
        c = max(candidates, key=lambda k: (shares[k] - fair[k], shares[k], k))
        cut = min(deficit, shares[c])
        step = max(1, min(cut, shares[c] - fair[c])) if shares[c] > fair[c] else cut
        shares[c] -= step
        deficit -= step
    return deficit
