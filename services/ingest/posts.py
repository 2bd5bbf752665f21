"""Post metadata: validation of upload fields and the MongoDB collection."""

import re
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from services.ingest.errors import PostNotFoundError
from shared.errors import InvalidFieldError
from shared.events import PostCreated
from shared.identifiers import ID_REGEX

MAX_CAPTION_LENGTH = 2200
MAX_INTERESTS = 10
MAX_TAGGED_PRODUCTS = 5
INTEREST_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def clean_caption(caption: str) -> str:
    caption = caption.strip()
    if len(caption) > MAX_CAPTION_LENGTH:
        raise InvalidFieldError(
            f"caption has {len(caption)} characters; the limit is {MAX_CAPTION_LENGTH}",
            field="caption",
            value=caption[:80],
        )
    return caption


def clean_interests(interests: list[str]) -> list[str]:
    """Lower-case, deduplicate and check interest names; at least one is needed."""
    cleaned = list(dict.fromkeys(name.strip().lower() for name in interests))
    if not cleaned:
        raise InvalidFieldError(
            "interests is empty; tag the post with at least one interest",
            field="interests",
            value=interests,
        )
    if len(cleaned) > MAX_INTERESTS:
        raise InvalidFieldError(
            f"{len(cleaned)} interests given; the limit is {MAX_INTERESTS}",
            field="interests",
            value=cleaned,
        )
    for name in cleaned:
        if not INTEREST_PATTERN.match(name):
            raise InvalidFieldError(
                f"interest {name!r} is invalid; use 1-32 lower-case letters, "
                "digits or '-'",
                field="interests",
                value=name,
            )
    return cleaned


def clean_product_ids(product_ids: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(product_id.strip() for product_id in product_ids))
    if not cleaned:
        raise InvalidFieldError(
            "products is empty; tag at least one product",
            field="products",
            value=product_ids,
        )
    if len(cleaned) > MAX_TAGGED_PRODUCTS:
        raise InvalidFieldError(
            f"{len(cleaned)} products tagged; the limit is {MAX_TAGGED_PRODUCTS}",
            field="products",
            value=cleaned,
        )
    for product_id in cleaned:
        if not ID_REGEX.match(product_id):
            raise InvalidFieldError(
                f"product id {product_id!r} is invalid",
                field="products",
                value=product_id,
            )
    return cleaned


class PostStore:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index(
            [("creator_id", ASCENDING), ("created_at", DESCENDING)]
        )

    async def insert(self, post: PostCreated, outbox: dict[str, Any]) -> dict[str, Any]:
        document = post.model_dump(mode="python")
        document["_id"] = post.post_id
        document["status"] = "published"
        document["outbox"] = outbox
        await self.collection.insert_one(document)
        return document

    async def get(self, post_id: str) -> dict[str, Any]:
        document = await self.collection.find_one({"_id": post_id})
        if document is None:
            raise PostNotFoundError(
                f"post {post_id!r} does not exist", field="post_id", value=post_id
            )
        return document

    async def by_creator(
        self, creator_id: str, before: datetime | None, limit: int
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"creator_id": creator_id}
        if before is not None:
            query["created_at"] = {"$lt": before}
        cursor = self.collection.find(query).sort("created_at", DESCENDING).limit(limit)
        return [document async for document in cursor]


def public_view(document: dict[str, Any]) -> dict[str, Any]:
    """Render a stored post for API responses, without internal fields."""
    view = PostCreated.model_validate(document).model_dump(mode="json")
    view["status"] = document.get("status", "published")
    return view
