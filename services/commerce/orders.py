"""Orders: placing one exactly once per Idempotency-Key, and reading them back.

Placing runs in steps that are each safe to repeat, so a client retrying
with the same key after a timeout or a crash finishes the same order:

1. insert the order as ``pending`` (a unique index on buyer and key makes a
   repeat find the existing order instead);
2. reserve stock for the order id (taken at most once, never below zero);
3. mark the order ``placed`` together with its ``order.placed`` event;
4. publish the event (the outbox relay retries it if Kafka is down).
"""

import hashlib
import json
import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.commerce.catalog import PRODUCT_ID_PATTERN
from services.commerce.errors import IdempotencyKeyReusedError, OrderNotFoundError
from shared.events import utc_now
from shared.identifiers import ID_PATTERN

MAX_QUANTITY = 100


class OrderStatus(StrEnum):
    PENDING = "pending"
    PLACED = "placed"
    REJECTED = "rejected"


class OrderIn(BaseModel):
    product_id: str = Field(pattern=PRODUCT_ID_PATTERN)
    quantity: int = Field(gt=0, le=MAX_QUANTITY)
    post_id: str | None = Field(default=None, pattern=ID_PATTERN)


def request_fingerprint(order: OrderIn) -> str:
    canonical = json.dumps(order.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def public_order(document: dict[str, Any]) -> dict[str, Any]:
    hidden = {"_id", "outbox", "fingerprint"}
    view = {key: value for key, value in document.items() if key not in hidden}
    view["order_id"] = document["_id"]
    return view


class OrderBook:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("buyer_id", ASCENDING), ("idempotency_key", ASCENDING)], unique=True
        )
        await self.collection.create_index(
            [("buyer_id", ASCENDING), ("created_at", DESCENDING)]
        )

    async def open_pending(
        self,
        buyer_id: str,
        idempotency_key: str,
        order: OrderIn,
        attribution: dict[str, str | None],
        product: dict[str, Any],
    ) -> tuple[dict[str, Any], bool]:
        """Insert a pending order, or return the one this key already made.

        Returns the order and whether this call created it.
        """
        fingerprint = request_fingerprint(order)
        existing = await self._by_key(buyer_id, idempotency_key)
        if existing is not None:
            return self._same_request(existing, fingerprint, idempotency_key), False

        unit_price = int(product["price_cents"])
        document = {
            "_id": uuid.uuid4().hex,
            "buyer_id": buyer_id,
            "idempotency_key": idempotency_key,
            "fingerprint": fingerprint,
            "product_id": order.product_id,
            "quantity": order.quantity,
            "unit_price_cents": unit_price,
            "total_cents": unit_price * order.quantity,
            "currency": product["currency"],
            "commission_rate": product.get("commission_rate", 0.0),
            "post_id": attribution["post_id"],
            "creator_id": attribution["creator_id"],
            "status": OrderStatus.PENDING.value,
            "created_at": utc_now(),
        }
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError:
            # A concurrent request with the same key won the insert.
            existing = await self._by_key(buyer_id, idempotency_key)
            assert existing is not None
            return self._same_request(existing, fingerprint, idempotency_key), False
        return document, True

    async def mark_placed(
        self, order_id: str, outbox: dict[str, Any]
    ) -> dict[str, Any]:
        placed = await self.collection.find_one_and_update(
            {"_id": order_id, "status": OrderStatus.PENDING.value},
            {
                "$set": {
                    "status": OrderStatus.PLACED.value,
                    "placed_at": utc_now(),
                    "finished_at": utc_now(),
                    "outbox": outbox,
                }
            },
            return_document=True,
        )
        if placed is not None:
            return placed
        # Already placed by a concurrent repeat of the same request.
        return await self.get(order_id)

    async def mark_rejected(self, order_id: str, reason: str) -> bool:
        """Reject a pending order; False if it was no longer pending."""
        rejected = await self.collection.update_one(
            {"_id": order_id, "status": OrderStatus.PENDING.value},
            {
                "$set": {
                    "status": OrderStatus.REJECTED.value,
                    "rejection": reason,
                    "finished_at": utc_now(),
                }
            },
        )
        return rejected.modified_count == 1

    async def get(self, order_id: str) -> dict[str, Any]:
        document = await self.collection.find_one({"_id": order_id})
        if document is None:
            raise OrderNotFoundError(
                f"order {order_id!r} does not exist", field="order_id", value=order_id
            )
        return document

    async def by_buyer(self, buyer_id: str, limit: int) -> list[dict[str, Any]]:
        cursor = (
            self.collection.find({"buyer_id": buyer_id})
            .sort("created_at", DESCENDING)
            .limit(limit)
        )
        return [document async for document in cursor]

    async def _by_key(self, buyer_id: str, key: str) -> dict[str, Any] | None:
        return await self.collection.find_one(
            {"buyer_id": buyer_id, "idempotency_key": key}
        )

    @staticmethod
    def _same_request(
        existing: dict[str, Any], fingerprint: str, key: str
    ) -> dict[str, Any]:
        if existing["fingerprint"] != fingerprint:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {key!r} was used for a different order; "
                "use a new key for a new order",
                field="Idempotency-Key",
                value=key,
            )
        return existing
