"""Demo data for `oms up --demo`: locations in different regions, a dozen SKUs with stock."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import inventory
from store.tables import Location, Sku, StockLevel

LOCATIONS = [
    # id, name, kind, lat, lon, postal, region, daily capacity
    ("WH-EAST", "Newark DC", "warehouse", 40.7357, -74.1724, "07102", "NJ", 2000),
    ("WH-CENTRAL", "Dallas DC", "warehouse", 32.7767, -96.7970, "75201", "TX", 2000),
    ("WH-WEST", "Reno DC", "warehouse", 39.5296, -119.8138, "89501", "NV", 2000),
    ("STORE-CHI", "Chicago flagship store", "store", 41.8781, -87.6298, "60601", "IL", 150),
]

SKUS = [
    # sku, name, grams, price
    ("TSHIRT-S", "Organic tee, S", 180, "19.99"),
    ("TSHIRT-M", "Organic tee, M", 200, "19.99"),
    ("TSHIRT-L", "Organic tee, L", 220, "19.99"),
    ("HOODIE-M", "Fleece hoodie, M", 650, "54.00"),
    ("HOODIE-L", "Fleece hoodie, L", 700, "54.00"),
    ("CAP-BLK", "Cap, black", 120, "24.00"),
    ("MUG-12OZ", "Enamel mug 12oz", 350, "16.00"),
    ("BOTTLE-1L", "Steel bottle 1L", 420, "32.00"),
    ("SOCKS-3PK", "Socks, 3 pack", 150, "14.00"),
    ("TOTE-CNV", "Canvas tote", 300, "18.00"),
    ("JACKET-M", "Rain jacket, M", 900, "129.00"),
    ("BEANIE", "Wool beanie", 110, "22.00"),
]

# Stock per location; the store carries a few items, one SKU is east-only.
STOCK = {
    "WH-EAST": 200,
    "WH-CENTRAL": 150,
    "WH-WEST": 120,
}
STORE_SKUS = {"TSHIRT-M": 12, "CAP-BLK": 8, "MUG-12OZ": 6}
SAFETY_STOCK = 2


async def seed_demo(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Insert the demo catalogue once; returns False when it was already there."""
    async with sessions.begin() as session:
        if await session.get(Location, LOCATIONS[0][0]) is not None:
            return False
        for loc_id, name, kind, lat, lon, postal, region, capacity in LOCATIONS:
            session.add(
                Location(
                    location_id=loc_id,
                    name=name,
                    kind=kind,
                    lat=lat,
                    lon=lon,
                    postal_code=postal,
                    region=region,
                    country="US",
                    daily_capacity=capacity,
                    active=True,
                )
            )
        for sku, name, grams, price in SKUS:
            session.add(Sku(sku=sku, name=name, weight_grams=grams, price=Decimal(price)))
        await session.flush()
        for loc_id, units in STOCK.items():
            for sku, *_ in SKUS:
                if sku == "JACKET-M" and loc_id != "WH-EAST":
                    continue
                await _stock(session, sku, loc_id, units)
        for sku, units in STORE_SKUS.items():
            await _stock(session, sku, "STORE-CHI", units)
    return True


async def _stock(session: AsyncSession, sku: str, location_id: str, units: int) -> None:
    session.add(
        StockLevel(
            sku=sku,
            location_id=location_id,
            on_hand=0,
            reserved=0,
            safety_stock=SAFETY_STOCK,
            inbound=0,
        )
    )
    await session.flush()
    await inventory.adjust(session, sku, location_id, units, "demo seed", kind="receipt")
