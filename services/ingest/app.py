"""HTTP API of the ingest service."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response

from services.ingest.catalog import CatalogClient
from services.ingest.media import inspect_media
from services.ingest.posts import (
    PostStore,
    clean_caption,
    clean_interests,
    clean_product_ids,
    public_view,
)
from services.ingest.storage import MediaStore
from shared import topics
from shared.api import create_app, vitrine_error_response
from shared.auth import CurrentPrincipal, Role, current_principal, require_role
from shared.errors import InvalidFieldError, PayloadTooLargeError, VitrineError
from shared.events import MediaInfo, PostCreated, utc_now
from shared.identifiers import CreatorIdPath, PostIdPath
from shared.kafka import EventProducer, ensure_topics
from shared.outbox import OutboxRelay, outbox_entry
from shared.settings import Settings
from shared.stores import connect_mongo

DATABASE = "vitrine_ingest"


@dataclass
class IngestRuntime:
    settings: Settings
    posts: PostStore
    media: MediaStore
    catalog: CatalogClient
    producer: EventProducer
    relay: OutboxRelay


def runtime(request: Request) -> IngestRuntime:
    state: IngestRuntime = request.app.state.ingest
    return state


def build_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = connect_mongo(settings)
        collection = mongo[DATABASE]["posts"]
        posts = PostStore(collection)
        await posts.create_indexes()
        await ensure_topics(settings)
        producer = EventProducer(settings, "ingest")
        await producer.start()
        relay = OutboxRelay(collection, producer)
        await relay.create_index()
        relay.start()
        catalog = CatalogClient(settings.commerce_url)
        app.state.ingest = IngestRuntime(
            settings, posts, MediaStore(settings.media_dir), catalog, producer, relay
        )
        app.state.health_checks = {
            "mongodb": lambda: mongo.admin.command("ping"),
            "kafka": producer.check,
        }
        try:
            yield
        finally:
            await relay.stop()
            await catalog.close()
            await producer.stop()
            await mongo.close()

    app = create_app("ingest", settings, lifespan)
    app.middleware("http")(upload_gate(settings))
    app.add_api_route(
        "/posts", create_post, methods=["POST"], status_code=HTTPStatus.CREATED
    )
    app.add_api_route("/posts/{post_id}", get_post, methods=["GET"])
    app.add_api_route(
        "/creators/{creator_id}/posts", list_creator_posts, methods=["GET"]
    )
    app.add_api_route("/media/{name}", get_media, methods=["GET"])
    return app


# Room for the multipart boundaries and the text fields around the media.
FORM_OVERHEAD_BYTES = 64 * 1024

Handler = Callable[[Request], Awaitable[Response]]


def upload_gate(
    settings: Settings,
) -> Callable[[Request, Handler], Awaitable[Response]]:
    """Build middleware that rejects an upload from its headers alone.

    FastAPI reads the whole form before a handler runs, so without this a
    caller without a valid token could still make the service receive
    ``max_upload_bytes`` and more.
    """

    async def gate(request: Request, call_next: Handler) -> Response:
        if request.method != "POST" or request.url.path != "/posts":
            return await call_next(request)
        try:
            principal = current_principal(request, settings)
            require_role(principal, Role.CREATOR, Role.BRAND)
        except VitrineError as exc:
            return await vitrine_error_response(request, exc)
        # NOTE: a chunked body has no Content-Length and is still read in
        # full before the size check; a proxy in front should cap body size.
        length = request.headers.get("content-length", "")
        limit = settings.max_upload_bytes + FORM_OVERHEAD_BYTES
        if length.isdigit() and int(length) > limit:
            error = PayloadTooLargeError(
                f"request body of {length} bytes is larger than {limit} bytes",
                field="media",
                value=int(length),
            )
            return await vitrine_error_response(request, error)
        return await call_next(request)

    return gate


async def create_post(
    request: Request,
    principal: CurrentPrincipal,
    media: Annotated[UploadFile, File(description="A JPEG photo or an H.264 MP4")],
    caption: Annotated[str, Form()] = "",
    interests: Annotated[list[str] | None, Form()] = None,
    products: Annotated[list[str] | None, Form()] = None,
) -> dict[str, Any]:
    """Check and store an uploaded post, then publish ``post.created``."""
    state = runtime(request)
    require_role(principal, Role.CREATOR, Role.BRAND)
    caption = clean_caption(caption)
    interest_names = clean_interests(interests or [])
    product_ids = clean_product_ids(products or [])

    data = await media.read(state.settings.max_upload_bytes + 1)
    if len(data) > state.settings.max_upload_bytes:
        raise PayloadTooLargeError(
            f"media is larger than {state.settings.max_upload_bytes} bytes",
            field="media",
            value=media.filename,
        )
    # Decoding is CPU work; a thread keeps the event loop serving other requests.
    inspected = await asyncio.to_thread(inspect_media, data, media.filename)
    await state.catalog.require_products(product_ids)

    name, digest = await asyncio.to_thread(state.media.save, data, inspected.extension)
    post = PostCreated(
        post_id=uuid.uuid4().hex,
        creator_id=principal.user_id,
        caption=caption,
        interests=interest_names,
        product_ids=product_ids,
        media=MediaInfo(
            kind=inspected.kind,
            url=f"{state.settings.public_media_url}/{name}",
            content_type=inspected.content_type,
            width=inspected.width,
            height=inspected.height,
            duration_seconds=inspected.duration_seconds,
            sha256=digest,
        ),
        created_at=utc_now(),
    )
    envelope = state.producer.envelope(PostCreated.TYPE, post.model_dump(mode="json"))
    document = await state.posts.insert(
        post, outbox_entry(topics.POSTS, post.post_id, envelope)
    )
    await state.relay.publish_or_defer(document)
    return public_view(document)


async def get_post(request: Request, post_id: PostIdPath) -> dict[str, Any]:
    document = await runtime(request).posts.get(post_id)
    return public_view(document)


async def list_creator_posts(
    request: Request,
    creator_id: CreatorIdPath,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """List a creator's posts, newest first; page with ``before``."""
    if before is not None:
        before = utc_instant(before, "before")
    documents = await runtime(request).posts.by_creator(creator_id, before, limit)
    items = [public_view(document) for document in documents]
    next_before = items[-1]["created_at"] if len(items) == limit else None
    return {"items": items, "next_before": next_before}


def utc_instant(value: datetime, field: str) -> datetime:
    """Convert to UTC, rejecting instants that fall outside the datetime range."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidFieldError(
            f"{field} is outside the supported date range",
            field=field,
            value=value.isoformat(),
        ) from exc


async def get_media(request: Request, name: str) -> FileResponse:
    path = runtime(request).media.path_of(name)
    content_type = "image/jpeg" if name.endswith(".jpg") else "video/mp4"
    return FileResponse(path, media_type=content_type)
