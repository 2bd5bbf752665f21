"""HTTP API of the commerce service."""

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request, Response

from services.commerce.catalog import Catalog, ProductIn, public_product
from services.commerce.errors import OutOfStockError, ProductNotTaggedError
from services.commerce.orders import OrderBook, OrderIn, OrderStatus, public_order
from services.commerce.posts import PostDirectory
from services.commerce.reservations import ReservationPruner
from shared import topics
from shared.api import create_app
from shared.auth import CurrentPrincipal, Principal, Role, require_role
from shared.errors import InvalidFieldError, PermissionDeniedError
from shared.events import Envelope, OrderPlaced
from shared.identifiers import OrderIdPath, ProductIdPath
from shared.kafka import EventProducer, ensure_topics
from shared.outbox import OutboxRelay, outbox_entry
from shared.settings import Settings
from shared.stores import connect_mongo

DATABASE = "vitrine_commerce"
IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{8,128}$")


@dataclass
class CommerceRuntime:
    catalog: Catalog
    orders: OrderBook
    posts: PostDirectory
    producer: EventProducer
    relay: OutboxRelay


def runtime(request: Request) -> CommerceRuntime:
    state: CommerceRuntime = request.app.state.commerce
    return state


def build_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = connect_mongo(settings)
        database = mongo[DATABASE]
        orders = OrderBook(database["orders"])
        await orders.create_indexes()
        await ensure_topics(settings)
        producer = EventProducer(settings, "commerce")
        await producer.start()
        relay = OutboxRelay(database["orders"], producer)
        await relay.create_index()
        relay.start()
        posts = PostDirectory(settings.ingest_url)
        catalog = Catalog(database["products"])
        pruner = ReservationPruner(database["orders"], catalog)
        pruner.start()
        app.state.commerce = CommerceRuntime(catalog, orders, posts, producer, relay)
        app.state.health_checks = {
            "mongodb": lambda: mongo.admin.command("ping"),
            "kafka": producer.check,
        }
        try:
            yield
        finally:
            await pruner.stop()
            await relay.stop()
            await posts.close()
            await producer.stop()
            await mongo.close()

    app = create_app("commerce", settings, lifespan)
    app.add_api_route(
        "/products", create_product, methods=["POST"], status_code=HTTPStatus.CREATED
    )
    app.add_api_route("/products", list_products, methods=["GET"])
    app.add_api_route("/products/{product_id}", get_product, methods=["GET"])
    app.add_api_route(
        "/orders", place_order, methods=["POST"], status_code=HTTPStatus.CREATED
    )
    app.add_api_route("/orders", list_orders, methods=["GET"])
    app.add_api_route("/orders/{order_id}", get_order, methods=["GET"])
    return app


async def create_product(
    request: Request, principal: CurrentPrincipal, body: ProductIn
) -> dict[str, Any]:
    """Add a product; a brand owns what it adds, an admin may name the brand."""
    require_role(principal, Role.BRAND)
    product = body.model_dump()
    if principal.role is Role.BRAND and body.rating is not None:
        raise InvalidFieldError(
            "rating comes from shoppers' reviews; only an admin may set it",
            field="rating",
            value=body.rating,
        )
    if principal.role is Role.BRAND:
        product["brand_id"] = principal.user_id
    elif product["brand_id"] is None:
        raise InvalidFieldError(
            "brand_id is missing; an admin must name the owning brand",
            field="brand_id",
            value=None,
        )
    if product["product_id"] is None:
        product["product_id"] = f"prod-{uuid.uuid4().hex[:16]}"
    document = await runtime(request).catalog.add(product)
    return public_product(document)


async def list_products(
    request: Request,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    documents = await runtime(request).catalog.page(limit, after)
    items = [public_product(document) for document in documents]
    next_after = items[-1]["product_id"] if len(items) == limit else None
    return {"items": items, "next_after": next_after}


async def get_product(request: Request, product_id: ProductIdPath) -> dict[str, Any]:
    """Return the product card: title, description, price, stock, brand, rating."""
    return public_product(await runtime(request).catalog.get(product_id))


async def place_order(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    body: OrderIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Required. One unique key per order, 8-128 characters; "
            "a retry with the same key returns the same order."
        ),
    ] = None,
) -> dict[str, Any]:
    """Place an order once per Idempotency-Key, attributing it to the post's creator."""
    state = runtime(request)
    key = _checked_idempotency_key(idempotency_key)
    product = await state.catalog.get(body.product_id)
    attribution = await _attribution(state, body)

    order, created = await state.orders.open_pending(
        principal.user_id, key, body, attribution, product
    )
    if order["status"] == OrderStatus.REJECTED.value:
        raise OutOfStockError(
            f"order {order['_id']} was rejected: {order.get('rejection')}",
            field="quantity",
            value=order["quantity"],
        )
    if order["status"] == OrderStatus.PLACED.value:
        response.status_code = HTTPStatus.OK
        response.headers["Idempotent-Replayed"] = "true"
        return public_order(order)

    if not await state.catalog.reserve(body.product_id, order["_id"], body.quantity):
        current = await state.catalog.get(body.product_id)
        reason = f"only {current['stock']} in stock, {body.quantity} requested"
        await state.orders.mark_rejected(order["_id"], reason)
        raise OutOfStockError(
            f"product {body.product_id!r} has {reason}; lower the quantity",
            field="quantity",
            value=body.quantity,
        )
    event = _order_placed_event(state.producer, order, principal)
    placed = await state.orders.mark_placed(
        order["_id"], outbox_entry(topics.ORDERS, order["_id"], event)
    )
    if "outbox" in placed:
        await state.relay.publish_or_defer(placed)
    if not created:
        # A concurrent request with the same key finished this order.
        response.status_code = HTTPStatus.OK
        response.headers["Idempotent-Replayed"] = "true"
    return public_order(placed)


async def list_orders(
    request: Request,
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> dict[str, Any]:
    documents = await runtime(request).orders.by_buyer(principal.user_id, limit)
    return {"items": [public_order(document) for document in documents]}


async def get_order(
    request: Request, principal: CurrentPrincipal, order_id: OrderIdPath
) -> dict[str, Any]:
    document = await runtime(request).orders.get(order_id)
    _require_buyer_or_admin(principal, document)
    return public_order(document)


def _checked_idempotency_key(key: str | None) -> str:
    if key is None:
        raise InvalidFieldError(
            "Idempotency-Key header is missing; send a unique key per order so "
            "retries place it once",
            field="Idempotency-Key",
            value=None,
        )
    if not IDEMPOTENCY_KEY_PATTERN.match(key):
        raise InvalidFieldError(
            "Idempotency-Key must be 8-128 characters of letters, digits or '_.:-'",
            field="Idempotency-Key",
            value=key,
        )
    return key


async def _attribution(state: CommerceRuntime, body: OrderIn) -> dict[str, str | None]:
    """Find the creator to credit: the author of the post the order came from."""
    if body.post_id is None:
        return {"post_id": None, "creator_id": None}
    post = await state.posts.get(body.post_id)
    if body.product_id not in post["product_ids"]:
        raise ProductNotTaggedError(
            f"post {body.post_id!r} does not tag product {body.product_id!r}",
            field="product_id",
            value=body.product_id,
        )
    return {"post_id": body.post_id, "creator_id": post["creator_id"]}


def _order_placed_event(
    producer: EventProducer, order: dict[str, Any], principal: Principal
) -> Envelope:
    payload = OrderPlaced(
        order_id=order["_id"],
        buyer_id=principal.user_id,
        product_id=order["product_id"],
        quantity=order["quantity"],
        unit_price_cents=order["unit_price_cents"],
        total_cents=order["total_cents"],
        currency=order["currency"],
        post_id=order["post_id"],
        creator_id=order["creator_id"],
        placed_at=order["created_at"],
    )
    return producer.envelope(OrderPlaced.TYPE, payload.model_dump(mode="json"))


def _require_buyer_or_admin(principal: Principal, order: dict[str, Any]) -> None:
    if principal.role is Role.ADMIN or principal.user_id == order["buyer_id"]:
        return
    raise PermissionDeniedError(
        f"order {order['_id']!r} belongs to another buyer",
        field="order_id",
        value=order["_id"],
    )
