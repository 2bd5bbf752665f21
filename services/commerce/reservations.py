"""Pruning of stock reservation records once no request can still need them."""

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.commerce.catalog import Catalog
from services.commerce.orders import OrderStatus
from shared.events import utc_now

logger = logging.getLogger(__name__)

# Requests time out within seconds, so an order finished an hour ago has no
# request left that read it as pending.
RECORD_LIFETIME = timedelta(hours=1)
PRUNE_INTERVAL_SECONDS = 300.0
BATCH_SIZE = 500


class ReservationPruner:
    def __init__(
        self, orders: AsyncCollection[dict[str, Any]], catalog: Catalog
    ) -> None:
        self._orders = orders
        self._catalog = catalog
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reservation-pruner")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def prune_once(self) -> int:
        """Remove records of orders that finished before the lifetime; count them."""
        finished = [OrderStatus.PLACED.value, OrderStatus.REJECTED.value]
        cursor = self._orders.find(
            {
                "status": {"$in": finished},
                "created_at": {"$lt": utc_now() - RECORD_LIFETIME},
                "reservation_pruned": {"$ne": True},
            },
            projection={"product_id": 1},
        ).limit(BATCH_SIZE)
        by_product: dict[str, list[str]] = defaultdict(list)
        async for order in cursor:
            by_product[order["product_id"]].append(order["_id"])

        for product_id, order_ids in by_product.items():
            await self._catalog.prune_reservation_records(product_id, order_ids)
            await self._orders.update_many(
                {"_id": {"$in": order_ids}}, {"$set": {"reservation_pruned": True}}
            )
        return sum(len(order_ids) for order_ids in by_product.values())

    async def _run(self) -> None:
        while True:
            try:
                pruned = await self.prune_once()
                if pruned:
                    logger.info("pruned %d stock reservation records", pruned)
            except Exception:
                logger.exception(
                    "pruning stock reservation records failed; retrying in %.0f s",
                    PRUNE_INTERVAL_SECONDS,
                )
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
