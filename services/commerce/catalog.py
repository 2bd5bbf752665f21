"""The product catalog in MongoDB, including stock reservations."""

from typing import Any

from pydantic import BaseModel, Field
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.commerce.errors import ProductExistsError, ProductNotFoundError
from shared.identifiers import ID_PATTERN

PRODUCT_ID_PATTERN = ID_PATTERN
# Stock reservations are tracked per order inside the product document so
# that reserving twice for the same order takes stock once.
RESERVED_FOR = "reserved_for_orders"


class ProductIn(BaseModel):
    product_id: str | None = Field(default=None, pattern=PRODUCT_ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)
    price_cents: int = Field(ge=0, le=100_000_000)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    stock: int = Field(ge=0, le=10_000_000)
    brand_id: str | None = Field(default=None, pattern=PRODUCT_ID_PATTERN)
    category: str = Field(default="general", max_length=64)
    # Share of the order total a creator earns on attributed sales.
    commission_rate: float = Field(default=0.1, ge=0.0, le=0.5)
    rating: float | None = Field(default=None, ge=0.0, le=5.0)


def public_product(document: dict[str, Any]) -> dict[str, Any]:
    view = {key: value for key, value in document.items() if key != RESERVED_FOR}
    view["product_id"] = view.pop("_id")
    return view


class Catalog:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def add(self, product: dict[str, Any]) -> dict[str, Any]:
        document = {**product, "_id": product["product_id"], RESERVED_FOR: []}
        del document["product_id"]
        try:
            await self.collection.insert_one(document)
        except DuplicateKeyError as exc:
            raise ProductExistsError(
                f"product {product['product_id']!r} already exists",
                field="product_id",
                value=product["product_id"],
            ) from exc
        return document

    async def get(self, product_id: str) -> dict[str, Any]:
        document = await self.collection.find_one({"_id": product_id})
        if document is None:
            raise ProductNotFoundError(
                f"product {product_id!r} does not exist",
                field="product_id",
                value=product_id,
            )
        return document

    async def page(self, limit: int, after: str | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {}
        if after is not None:
            query["_id"] = {"$gt": after}
        cursor = self.collection.find(query).sort("_id", 1).limit(limit)
        return [document async for document in cursor]

    async def reserve(self, product_id: str, order_id: str, quantity: int) -> bool:
        """Take ``quantity`` from stock for ``order_id`` once; False if too little.

        The update matches only while the order has no reservation and the
        stock suffices, so concurrent or repeated calls never take stock twice
        and never drive it below zero.
        """
        taken = await self.collection.update_one(
            {
                "_id": product_id,
                "stock": {"$gte": quantity},
                RESERVED_FOR: {"$ne": order_id},
            },
            {"$inc": {"stock": -quantity}, "$push": {RESERVED_FOR: order_id}},
        )
        if taken.modified_count == 1:
            return True
        already = await self.collection.count_documents(
            {"_id": product_id, RESERVED_FOR: order_id}
        )
        return already == 1

    async def forget_reservation(self, product_id: str, order_id: str) -> None:
        """Drop the record of a placed order's reservation; the stock stays taken.

        A record must outlive every request that read its order as pending,
        or such a request would take stock a second time, so only orders
        finished long ago are passed here.
        """
        await self.collection.update_one(
            {"_id": product_id}, {"$pull": {RESERVED_FOR: order_id}}
        )

    async def release_reservation(
        self, product_id: str, order_id: str, quantity: int
    ) -> bool:
        """Return the stock an unplaced order reserved; True if it held any.

        The update matches only while the record exists, so stock comes back
        once however often this runs.
        """
        released = await self.collection.update_one(
            {"_id": product_id, RESERVED_FOR: order_id},
            {"$inc": {"stock": quantity}, "$pull": {RESERVED_FOR: order_id}},
        )
        return released.modified_count == 1
