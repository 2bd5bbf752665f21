"""Reservation records on the real MongoDB-protocol server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.commerce.catalog import RESERVED_FOR, Catalog
from services.commerce.reservations import RECORD_LIFETIME, ReservationPruner
from shared.events import utc_now
from shared.settings import Settings
from shared.stores import connect_mongo


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client = connect_mongo(settings)
    yield client[f"test_commerce_{uuid.uuid4().hex[:8]}"]
    await client.close()


async def add_product(catalog: Catalog, stock: int) -> str:
    product_id = f"p-{uuid.uuid4().hex[:8]}"
    await catalog.add(
        {
            "product_id": product_id,
            "title": "Mug",
            "price_cents": 900,
            "currency": "EUR",
            "stock": stock,
        }
    )
    return product_id


async def test_reserve_twice_takes_stock_once(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    catalog = Catalog(database["products"])
    product_id = await add_product(catalog, stock=5)

    first = await catalog.reserve(product_id, "order-1", 2)
    second = await catalog.reserve(product_id, "order-1", 2)

    assert first is True
    assert second is True
    assert (await catalog.get(product_id))["stock"] == 3


async def test_reserve_beyond_stock_fails_and_keeps_stock(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    catalog = Catalog(database["products"])
    product_id = await add_product(catalog, stock=1)

    assert await catalog.reserve(product_id, "order-1", 2) is False
    assert (await catalog.get(product_id))["stock"] == 1


async def test_pruner_forgets_only_old_records(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    catalog = Catalog(database["products"])
    orders = database["orders"]
    product_id = await add_product(catalog, stock=10)
    await catalog.reserve(product_id, "old-order", 1)
    await catalog.reserve(product_id, "new-order", 1)
    long_ago = utc_now() - RECORD_LIFETIME - timedelta(minutes=1)
    await orders.insert_many(
        [
            {
                "_id": "old-order",
                "product_id": product_id,
                "quantity": 1,
                "status": "placed",
                "created_at": long_ago,
                "finished_at": long_ago,
            },
            {
                "_id": "new-order",
                "product_id": product_id,
                "quantity": 1,
                "status": "placed",
                "created_at": long_ago,
                "finished_at": utc_now(),
            },
        ]
    )
    pruner = ReservationPruner(orders, catalog)

    first = await pruner.prune_once()
    second = await pruner.prune_once()

    product = await catalog.collection.find_one({"_id": product_id})
    assert first == 1
    assert second == 0
    assert product is not None
    assert product[RESERVED_FOR] == ["new-order"]
    assert product["stock"] == 8


async def test_abandoned_pending_order_returns_stock(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    catalog = Catalog(database["products"])
    orders = database["orders"]
    product_id = await add_product(catalog, stock=10)
    await catalog.reserve(product_id, "stuck-order", 3)
    long_ago = utc_now() - RECORD_LIFETIME - timedelta(minutes=1)
    await orders.insert_one(
        {
            "_id": "stuck-order",
            "product_id": product_id,
            "quantity": 3,
            "status": "pending",
            "created_at": long_ago,
        }
    )
    pruner = ReservationPruner(orders, catalog)

    await pruner.prune_once()
    await pruner.prune_once()

    product = await catalog.collection.find_one({"_id": product_id})
    order = await orders.find_one({"_id": "stuck-order"})
    assert product is not None
    assert product["stock"] == 10
    assert product[RESERVED_FOR] == []
    assert order is not None
    assert order["status"] == "rejected"
