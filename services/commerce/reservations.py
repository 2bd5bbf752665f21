"""Clean-up of stock reservations once no request can still need them.

A product lists the orders that reserved its stock, so that a retried
request never takes stock twice. Two jobs keep those lists short and the
stock right:

- an order left pending for longer than ``RECORD_LIFETIME`` (its request
  died and the client never retried) is rejected and its stock returned;
- once an order finished longer than ``RECORD_LIFETIME`` ago, its record is
  dropped (placed) or its stock returned if still held (rejected).
"""

import asyncio
import logging
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
ABANDONED = "abandoned: the request that opened it never finished"


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
        """Run both jobs once; return how many orders were cleaned up."""
        cutoff = utc_now() - RECORD_LIFETIME
        abandoned = await self._reject_abandoned(cutoff)
        finished = [OrderStatus.PLACED.value, OrderStatus.REJECTED.value]
        cursor = self._orders.find(
            {
                "status": {"$in": finished},
                "finished_at": {"$lt": cutoff},
                "reservation_pruned": {"$ne": True},
            },
        ).limit(BATCH_SIZE)
        pruned = 0
        async for order in cursor:
            await self._clean_up(order)
            await self._orders.update_one(
                {"_id": order["_id"]}, {"$set": {"reservation_pruned": True}}
            )
            pruned += 1
        return abandoned + pruned

    async def _reject_abandoned(self, cutoff: Any) -> int:
        cursor = self._orders.find(
            {"status": OrderStatus.PENDING.value, "created_at": {"$lt": cutoff}}
        ).limit(BATCH_SIZE)
        count = 0
        async for order in cursor:
            # Rejecting first means a late retry can no longer place it.
            if await self._mark_rejected(order["_id"]):
                await self._clean_up({**order, "status": OrderStatus.REJECTED.value})
                logger.info(
                    "rejected abandoned order", extra={"order_id": order["_id"]}
                )
                count += 1
        return count

    async def _mark_rejected(self, order_id: str) -> bool:
        rejected = await self._orders.update_one(
            {"_id": order_id, "status": OrderStatus.PENDING.value},
            {
                "$set": {
                    "status": OrderStatus.REJECTED.value,
                    "rejection": ABANDONED,
                    "finished_at": utc_now(),
                }
            },
        )
        return rejected.modified_count == 1

    async def _clean_up(self, order: dict[str, Any]) -> None:
        if order["status"] == OrderStatus.PLACED.value:
            await self._catalog.forget_reservation(order["product_id"], order["_id"])
            return
        await self._catalog.release_reservation(
            order["product_id"], order["_id"], order["quantity"]
        )

    async def _run(self) -> None:
        while True:
            try:
                cleaned = await self.prune_once()
                if cleaned:
                    logger.info("cleaned up %d stock reservations", cleaned)
            except Exception:
                logger.exception(
                    "cleaning up stock reservations failed; retrying in %.0f s",
                    PRUNE_INTERVAL_SECONDS,
                )
            await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
