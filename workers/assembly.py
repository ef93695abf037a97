"""Wire integrations to activities from settings: the one place that picks adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.channels import DEFAULT_SYNC_CHANNELS, ChannelActivities, settle_changes
from activities.forecasting import ForecastingActivities
from activities.inventory import InventoryActivities
from activities.invoicing import InvoicingActivities
from activities.notifications import NotificationActivities
from activities.orders import OrderActivities
from activities.payments import PaymentActivities
from activities.returns import ReturnActivities
from activities.shipping import ShippingActivities
from activities.shops import ShopActivities
from activities.sweeper import SweeperActivities
from activities.warehouse import WarehouseActivities
from config.settings import Settings
from integrations.carriers.protocol import Carrier
from integrations.channels.endpoints import ChannelEndpoint
from integrations.channels.pull import Puller
from integrations.channels.shops import ShopFactory
from integrations.email.sender import EmailSender, LogSender, SmtpSender
from integrations.payments.protocol import PaymentGateway
from integrations.warehouse.protocol import Warehouse
from sandbox.carriers import sandbox_carriers
from sandbox.channels import SandboxChannel
from sandbox.db import open_sandbox_database
from sandbox.payments import SandboxPaymentGateway
from sandbox.warehouse import SandboxWarehouse
from store.db import Database


@dataclass
class Integrations:
    """The adapters one worker uses."""

    gateway: PaymentGateway
    carriers: Mapping[str, Carrier]
    warehouse: Warehouse
    email: EmailSender
    sandbox_warehouse: SandboxWarehouse | None = None
    channel_endpoints: Mapping[str, ChannelEndpoint] = field(default_factory=dict)
    # Pull adapters keyed "channel/account"; empty until accounts are configured.
    channel_pullers: Mapping[str, Puller] = field(default_factory=dict)
    # Builds connected shops' clients; None: the platforms' real clients on each base_url.
    shop_factory: ShopFactory | None = None
    # The simulators' own database, opened for them by `build_integrations`.
    sandbox_database: Database | None = None

    @property
    def sandbox_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions on the sandbox database (what the simulated services stored)."""
        if self.sandbox_database is None:
            raise RuntimeError("these integrations have no sandbox database")
        return self.sandbox_database.sessions

    async def aclose(self) -> None:
        """Release what `build_integrations` opened (the sandbox database's connections)."""
        if self.sandbox_database is not None:
            await self.sandbox_database.dispose()


def sandbox_latency(settings: Settings) -> float:
    """Simulated network latency of sandbox services: 50 ms at real time, less when time is
    compressed, so a demo at --time-scale 0.001 is not dominated by pretend round trips."""
    return 0.05 * min(1.0, settings.time_scale * 100)


async def build_integrations(settings: Settings) -> Integrations:
    """Sandbox adapters by default; real ones where configured. Call `aclose()` when done.

    The simulators keep their state in their own database (`sandbox_database_url`), never in
    the OMS database: adapters get no OMS sessions.
    """
    sandbox = await open_sandbox_database(
        settings.sandbox_database_url_resolved(), pool_size=settings.database_pool_size
    )
    gateway: PaymentGateway
    if settings.payment_gateway == "stripe":
        from integrations.payments.stripe_gateway import StripeGateway

        if settings.stripe_api_key is None:
            await sandbox.dispose()
            raise SystemExit("OMS_PAYMENT_GATEWAY=stripe needs OMS_STRIPE_API_KEY")
        gateway = StripeGateway(api_key=settings.stripe_api_key.get_secret_value())
    else:
        gateway = SandboxPaymentGateway(
            sandbox.sessions, time_scale=settings.time_scale, latency_s=sandbox_latency(settings)
        )
    warehouse = SandboxWarehouse(
        sandbox.sessions, time_scale=settings.time_scale, auto_events=settings.sandbox_warehouse
    )
    email: EmailSender = (
        SmtpSender(settings.smtp_host, settings.smtp_port) if settings.smtp_host else LogSender()
    )
    return Integrations(
        gateway=gateway,
        carriers=sandbox_carriers(
            sandbox.sessions,
            time_scale=settings.time_scale,
            latency_s=sandbox_latency(settings),
        ),
        warehouse=warehouse,
        email=email,
        sandbox_warehouse=warehouse,
        channel_endpoints={c: SandboxChannel(sandbox.sessions, c) for c in DEFAULT_SYNC_CHANNELS},
        sandbox_database=sandbox,
    )


def activities_for(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], integrations: Integrations
) -> list[Callable[..., Any]]:
    """Every activity of the OMS as bound methods of classes built once."""
    orders = OrderActivities(sessions)
    inventory = InventoryActivities(sessions)
    payments = PaymentActivities(integrations.gateway)
    shipping = ShippingActivities(sessions, integrations.carriers, settings.public_base_url())
    warehouse = WarehouseActivities(integrations.warehouse)
    notifications = NotificationActivities(
        sessions, integrations.email, settings.mail_from, settings.public_base_url()
    )
    shops = ShopActivities(sessions, settings, integrations.shop_factory)
    channels = ChannelActivities(
        sessions, settings, integrations.channel_pullers, integrations.channel_endpoints, shops
    )
    forecasting = ForecastingActivities(sessions)
    returns = ReturnActivities(sessions)
    invoicing = InvoicingActivities(sessions)
    sweeper = SweeperActivities(
        sessions, integrations.gateway, integrations.carriers, integrations.warehouse
    )
    return [
        channels.pull_channel_orders,
        channels.push_inventory,
        settle_changes,
        forecasting.compute_forecasts,
        orders.validate_order,
        orders.validate_address,
        orders.project_order,
        inventory.route_order,
        inventory.reserve_stock,
        inventory.release_stock,
        inventory.commit_stock,
        inventory.trim_open_lines,
        payments.authorize_payment,
        payments.capture_payment,
        payments.void_payment,
        payments.refund_payment,
        payments.increment_authorization,
        invoicing.open_receivable,
        invoicing.issue_invoice,
        invoicing.adjust_receivable,
        invoicing.release_receivable,
        shipping.buy_label,
        shipping.hand_over_parcel,
        shipping.void_label,
        shipping.poll_tracking,
        warehouse.release_to_location,
        warehouse.cancel_release,
        notifications.send_notification,
        returns.price_skus,
        returns.record_return,
        returns.apply_dispositions,
        sweeper.sweep_abandoned_orders,
        shops.sync_shop,
        shops.confirm_shipment_at_shop,
        shops.cancel_at_shop,
        shops.cancel_lines_at_shop,
        shops.note_at_shop,
    ]
