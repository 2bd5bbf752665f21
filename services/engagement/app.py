"""HTTP API of the engagement service: accepts events, serves counters."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from services.engagement.counters import read_snapshot
from services.engagement.posts import PostDirectory
from shared import topics
from shared.api import create_app
from shared.auth import CurrentPrincipal
from shared.events import EngagementAction
from shared.identifiers import PostIdPath
from shared.kafka import EventProducer, ensure_topics
from shared.settings import Settings
from shared.stores import connect_redis

# One hour; a longer value is a client bug, not a long view.
MAX_WATCH_MS = 3_600_000


class ViewIn(BaseModel):
    watch_ms: int = Field(default=0, ge=0, le=MAX_WATCH_MS)


@dataclass
class EngagementRuntime:
    posts: PostDirectory
    producer: EventProducer
    redis: Redis


def runtime(request: Request) -> EngagementRuntime:
    state: EngagementRuntime = request.app.state.engagement
    return state


def build_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings)
        producer = EventProducer(settings, "engagement")
        await producer.start()
        redis = connect_redis(settings)
        posts = PostDirectory(settings.ingest_url)
        app.state.engagement = EngagementRuntime(posts, producer, redis)
        app.state.health_checks = {"kafka": producer.check, "redis": redis.ping}
        try:
            yield
        finally:
            await posts.close()
            await producer.stop()
            await redis.aclose()

    app = create_app("engagement", settings, lifespan)
    accepted = HTTPStatus.ACCEPTED
    app.add_api_route(
        "/posts/{post_id}/like", like, methods=["PUT"], status_code=accepted
    )
    app.add_api_route(
        "/posts/{post_id}/like", unlike, methods=["DELETE"], status_code=accepted
    )
    app.add_api_route(
        "/posts/{post_id}/views", view, methods=["POST"], status_code=accepted
    )
    app.add_api_route("/posts/{post_id}/stats", stats, methods=["GET"])
    return app


async def like(
    request: Request, principal: CurrentPrincipal, post_id: PostIdPath
) -> dict[str, Any]:
    """Like a post; liking it again changes nothing."""
    event_id = await _publish(
        request, EngagementAction.LIKE, post_id, principal.user_id
    )
    return {"post_id": post_id, "liked": True, "event_id": event_id}


async def unlike(
    request: Request, principal: CurrentPrincipal, post_id: PostIdPath
) -> dict[str, Any]:
    event_id = await _publish(
        request, EngagementAction.UNLIKE, post_id, principal.user_id
    )
    return {"post_id": post_id, "liked": False, "event_id": event_id}


async def view(
    request: Request, principal: CurrentPrincipal, post_id: PostIdPath, body: ViewIn
) -> dict[str, Any]:
    """Record one view of a post and how long it was watched, in milliseconds."""
    event_id = await _publish(
        request, EngagementAction.VIEW, post_id, principal.user_id, body.watch_ms
    )
    return {"post_id": post_id, "watch_ms": body.watch_ms, "event_id": event_id}


async def stats(request: Request, post_id: PostIdPath) -> dict[str, Any]:
    state = runtime(request)
    await state.posts.require(post_id)
    return await read_snapshot(state.redis, post_id)


async def _publish(
    request: Request, event_type: str, post_id: str, user_id: str, watch_ms: int = 0
) -> str:
    state = runtime(request)
    await state.posts.require(post_id)
    action = EngagementAction(post_id=post_id, user_id=user_id, watch_ms=watch_ms)
    envelope = state.producer.envelope(event_type, action.model_dump(mode="json"))
    await state.producer.publish(topics.ENGAGEMENT, post_id, envelope)
    return envelope.event_id
