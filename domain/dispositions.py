"""Where returned units go: disposition rules by inspected condition and the customer's reason.

Pure data and functions (no I/O), carried in each return's input so that a change of rules
applies to returns authorised after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

Disposition = Literal["restock", "refurbish", "inspect", "write_off"]

# Disposition rules as data: the inspected condition decides where the unit goes...
DISPOSITIONS: Mapping[str, Disposition] = {
    "new": "restock",
    "unopened": "restock",
    "opened": "refurbish",
    "used": "refurbish",
    "damaged": "write_off",
}
# ...unless the customer says the item is faulty: then it never goes back on the shelf, however
# new it looks (`DispositionRules.defective`, inspection by default).
DEFECT_REASONS = ("defective", "faulty", "not_working", "damaged_in_transit")
# From back on the shelf to gone for good.
SEVERITY: tuple[Disposition, ...] = ("restock", "refurbish", "inspect", "write_off")
# Inventory movement kind recorded for each disposition (only `restock` makes units available).
MOVEMENT_KIND: Mapping[Disposition, str] = {
    "restock": "return",
    "refurbish": "refurbish",
    "inspect": "inspection",
    "write_off": "write_off",
}


class DispositionRules(BaseModel):
    """Where returned units go, by the inspected condition and the customer's reason.

    Set per deployment (`OMS_RETURN_DEFECTIVE_DISPOSITION`) and carried in each return's input,
    so a change applies to returns authorised after it.
    """

    by_condition: dict[str, Disposition] = Field(default_factory=lambda: dict(DISPOSITIONS))
    defect_reasons: list[str] = Field(default_factory=lambda: list(DEFECT_REASONS))
    defective: Literal["inspect", "write_off"] = "inspect"

    def disposition(self, condition: str, reason: str) -> Disposition:
        """Where a unit in `condition`, returned for `reason`, goes.

        A defect reason never makes the outcome better than the condition alone: a faulty
        unit that looks new goes to `defective`, one that arrived damaged is still written off.
        """
        by_condition = self.by_condition[condition]
        if reason not in self.defect_reasons:
            return by_condition
        return max(by_condition, self.defective, key=SEVERITY.index)

    def allows_exchange(self, disposition: Disposition, reason: str) -> bool:
        """A replacement ships unless the unit came back ruined through no fault of ours."""
        return disposition != "write_off" or reason in self.defect_reasons
