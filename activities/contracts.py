"""Activity references: the name, input and result of every activity a workflow calls.

Workflows import this module, not the implementations (which pull in the database, the
gateways and the carriers): it needs only `domain` and the input/output models of
`activities.io`, so the workflow sandbox stays small and deterministic. Each implementation is
an `@activity.defn` method of the same name (tests/activities/test_contracts.py checks the
names and types match), registered by the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from temporalio import workflow

from activities import io

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class ActivityRef(Generic[In, Out]):
    """An activity by name, with the types it takes and returns."""

    name: str
    input: type[In]
    output: Any

    async def run(self, arg: In, config: workflow.ActivityConfig) -> Out:
        """Schedule it as a regular activity and wait for its result."""
        result = await workflow.execute_activity(self.name, arg, result_type=self.output, **config)
        return result  # type: ignore[no-any-return]

    async def run_local(self, arg: In, config: workflow.LocalActivityConfig) -> Out:
        """Run it as a local activity (inside the workflow task: no server round trip)."""
        result = await workflow.execute_local_activity(
            self.name, arg, result_type=self.output, **config
        )
        return result  # type: ignore[no-any-return]


def ref(name: str, input: type[In], output: Any) -> ActivityRef[In, Any]:
    """Declare an activity reference (kept short: the table below reads like a contract)."""
    return ActivityRef(name, input, output)


# Orders: the catalogue and the read model.
validate_order: ActivityRef[io.ValidateOrderInput, io.ValidatedOrder] = ref(
    "validate_order", io.ValidateOrderInput, io.ValidatedOrder
)
validate_address: ActivityRef[io.ValidateAddressInput, None] = ref(
    "validate_address", io.ValidateAddressInput, None
)
project_order: ActivityRef[io.OrderSnapshot, None] = ref("project_order", io.OrderSnapshot, None)

# Inventory.
route_order: ActivityRef[io.RouteInput, io.RouteResult] = ref(
    "route_order", io.RouteInput, io.RouteResult
)
reserve_stock: ActivityRef[io.ReserveInput, io.ReserveResult] = ref(
    "reserve_stock", io.ReserveInput, io.ReserveResult
)
release_stock: ActivityRef[io.ReleaseStockInput, int] = ref(
    "release_stock", io.ReleaseStockInput, int
)
commit_stock: ActivityRef[io.CommitStockInput, int] = ref("commit_stock", io.CommitStockInput, int)
trim_open_lines: ActivityRef[io.TrimLinesInput, int] = ref(
    "trim_open_lines", io.TrimLinesInput, int
)

# Payments.
authorize_payment: ActivityRef[io.AuthorizeInput, io.AuthorizeResult] = ref(
    "authorize_payment", io.AuthorizeInput, io.AuthorizeResult
)
capture_payment: ActivityRef[io.PaymentOpInput, io.PaymentOpResult] = ref(
    "capture_payment", io.PaymentOpInput, io.PaymentOpResult
)
void_payment: ActivityRef[io.PaymentOpInput, io.PaymentOpResult] = ref(
    "void_payment", io.PaymentOpInput, io.PaymentOpResult
)
refund_payment: ActivityRef[io.PaymentOpInput, io.PaymentOpResult] = ref(
    "refund_payment", io.PaymentOpInput, io.PaymentOpResult
)
increment_authorization: ActivityRef[io.IncrementInput, io.AuthorizeResult] = ref(
    "increment_authorization", io.IncrementInput, io.AuthorizeResult
)

# Invoice payment (B2B): the receivable, invoices and credit notes, in our own database.
open_receivable: ActivityRef[io.OpenReceivableInput, None] = ref(
    "open_receivable", io.OpenReceivableInput, None
)
issue_invoice: ActivityRef[io.InvoiceInput, None] = ref("issue_invoice", io.InvoiceInput, None)
adjust_receivable: ActivityRef[io.AdjustReceivableInput, None] = ref(
    "adjust_receivable", io.AdjustReceivableInput, None
)
release_receivable: ActivityRef[io.ReleaseReceivableInput, None] = ref(
    "release_receivable", io.ReleaseReceivableInput, None
)

# Shipping.
buy_label: ActivityRef[io.BuyLabelInput, io.LabelResult] = ref(
    "buy_label", io.BuyLabelInput, io.LabelResult
)
# Runs recorded before return labels went through `buy_label(direction="return")` replay it.
buy_return_label_before_20261202: ActivityRef[Any, io.LabelResult] = ref(
    "buy_return_label", dict, io.LabelResult
)
hand_over_parcel: ActivityRef[io.HandOverInput, None] = ref(
    "hand_over_parcel", io.HandOverInput, None
)
void_label: ActivityRef[io.VoidLabelInput, bool] = ref("void_label", io.VoidLabelInput, bool)
poll_tracking: ActivityRef[io.PollTrackingInput, io.TrackingResult] = ref(
    "poll_tracking", io.PollTrackingInput, io.TrackingResult
)

# Warehouse.
release_to_location: ActivityRef[io.ReleaseToLocationInput, str] = ref(
    "release_to_location", io.ReleaseToLocationInput, str
)
cancel_release: ActivityRef[io.CancelReleaseInput, io.CancelReleaseResult] = ref(
    "cancel_release", io.CancelReleaseInput, io.CancelReleaseResult
)

# Notifications.
send_notification: ActivityRef[io.NotifyInput, str] = ref("send_notification", io.NotifyInput, str)

# Returns.
price_skus: ActivityRef[io.SkuPricesInput, dict[str, Decimal]] = ref(
    "price_skus", io.SkuPricesInput, dict[str, Decimal]
)
record_return: ActivityRef[io.RecordReturnInput, None] = ref(
    "record_return", io.RecordReturnInput, None
)
apply_dispositions: ActivityRef[io.DispositionInput, dict[str, int]] = ref(
    "apply_dispositions", io.DispositionInput, dict[str, int]
)

# Channels and forecasting.
pull_channel_orders: ActivityRef[io.PullInput, io.PullResult] = ref(
    "pull_channel_orders", io.PullInput, io.PullResult
)
push_inventory: ActivityRef[io.PushInventoryInput, io.PushInventoryResult] = ref(
    "push_inventory", io.PushInventoryInput, io.PushInventoryResult
)
settle_changes: ActivityRef[float, None] = ref("settle_changes", float, None)
compute_forecasts: ActivityRef[io.ComputeForecastsInput, io.ComputeForecastsResult] = ref(
    "compute_forecasts", io.ComputeForecastsInput, io.ComputeForecastsResult
)

# Connected shops: the listing map and order pull, and what orders tell the shop that sold them.
sync_shop: ActivityRef[io.ShopSyncInput, io.ShopSyncResult] = ref(
    "sync_shop", io.ShopSyncInput, io.ShopSyncResult
)
confirm_shipment_at_shop: ActivityRef[io.ShopFulfilmentInput, str] = ref(
    "confirm_shipment_at_shop", io.ShopFulfilmentInput, str
)
cancel_at_shop: ActivityRef[io.ShopMessageInput, None] = ref(
    "cancel_at_shop", io.ShopMessageInput, None
)
cancel_lines_at_shop: ActivityRef[io.ShopLinesInput, None] = ref(
    "cancel_lines_at_shop", io.ShopLinesInput, None
)
note_at_shop: ActivityRef[io.ShopMessageInput, None] = ref(
    "note_at_shop", io.ShopMessageInput, None
)

# The sweeper.
sweep_abandoned_orders: ActivityRef[io.SweepInput, io.SweepResult] = ref(
    "sweep_abandoned_orders", io.SweepInput, io.SweepResult
)

ORDER_ACTIVITIES: tuple[ActivityRef[Any, Any], ...] = (
    validate_order,
    validate_address,
    project_order,
    route_order,
    reserve_stock,
    release_stock,
    commit_stock,
    trim_open_lines,
    authorize_payment,
    capture_payment,
    void_payment,
    refund_payment,
    increment_authorization,
    open_receivable,
    issue_invoice,
    adjust_receivable,
    release_receivable,
    buy_label,
    hand_over_parcel,
    void_label,
    poll_tracking,
    release_to_location,
    cancel_release,
    send_notification,
    price_skus,
    record_return,
    apply_dispositions,
    sweep_abandoned_orders,
    confirm_shipment_at_shop,
    cancel_at_shop,
    cancel_lines_at_shop,
    note_at_shop,
)
# Every reference (the worker registers an implementation of each).
ALL: tuple[ActivityRef[Any, Any], ...] = (
    *ORDER_ACTIVITIES,
    pull_channel_orders,
    push_inventory,
    settle_changes,
    compute_forecasts,
    sync_shop,
)
