"""HTTP API of the feed service, plus its Kafka consumers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request

from services.feed.consumers import PostEventHandler, StatsEventHandler
from services.feed.profiles import InterestsIn, ProfileStore
from services.feed.timeline import Timelines
from shared import topics
from shared.api import create_app
from shared.auth import CurrentPrincipal
from shared.kafka import EventConsumer, EventProducer, ensure_topics
from shared.settings import Settings
from shared.stores import connect_mongo, connect_redis

DATABASE = "vitrine_feed"


@dataclass
class FeedRuntime:
    settings: Settings
    profiles: ProfileStore
    timelines: Timelines


def runtime(request: Request) -> FeedRuntime:
    state: FeedRuntime = request.app.state.feed
    return state


def build_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = connect_mongo(settings)
        redis = connect_redis(settings)
        timelines = Timelines(redis)
        await ensure_topics(settings)
        dead_letters = EventProducer(settings, "feed")
        await dead_letters.start()
        consumers = [
            EventConsumer(
                settings,
                "feed-posts",
                [topics.POSTS],
                PostEventHandler(timelines),
                dead_letters,
            ),
            EventConsumer(
                settings,
                "feed-post-stats",
                [topics.POST_STATS],
                StatsEventHandler(timelines),
                dead_letters,
            ),
        ]
        for consumer in consumers:
            await consumer.start()
        app.state.feed = FeedRuntime(
            settings, ProfileStore(mongo[DATABASE]["profiles"]), timelines
        )
        app.state.health_checks = {
            "mongodb": lambda: mongo.admin.command("ping"),
            "redis": redis.ping,
            "kafka": dead_letters.check,
            "consumers": lambda: _require_running(consumers),
        }
        try:
            yield
        finally:
            for consumer in consumers:
                await consumer.stop()
            await dead_letters.stop()
            await redis.aclose()
            await mongo.close()

    app = create_app("feed", settings, lifespan)
    app.add_api_route("/me/interests", put_interests, methods=["PUT"])
    app.add_api_route("/me/interests", get_interests, methods=["GET"])
    app.add_api_route("/feed", read_feed, methods=["GET"])
    return app


async def _require_running(consumers: list[EventConsumer]) -> None:
    stopped = [consumer.group_id for consumer in consumers if not consumer.running]
    if stopped:
        raise RuntimeError(f"consumers stopped: {stopped}")


async def put_interests(
    request: Request, principal: CurrentPrincipal, body: InterestsIn
) -> dict[str, Any]:
    """Set the caller's interests and rebuild their timeline from them."""
    state = runtime(request)
    old = await state.profiles.interests_of(principal.user_id)
    await state.profiles.set_interests(principal.user_id, body.interests)
    await state.timelines.rebuild(principal.user_id, old, body.interests)
    return {"user_id": principal.user_id, "interests": body.interests}


async def get_interests(
    request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    interests = await runtime(request).profiles.interests_of(principal.user_id)
    return {"user_id": principal.user_id, "interests": interests}


async def read_feed(
    request: Request,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict[str, Any]:
    """Return a page of the caller's timeline, or of recent posts without interests."""
    state = runtime(request)
    user_id: str | None = principal.user_id
    if not await state.timelines.has_timeline(principal.user_id):
        interests = await state.profiles.interests_of(principal.user_id)
        if interests:
            # Redis lost the timeline (restart, eviction); MongoDB has the
            # profile. Only the timeline is refilled here, because changing
            # interest sets from a read could race a concurrent update.
            # NOTE: interest sets lost with Redis are restored only when the
            # user sets interests again; until then no new posts fan out to them.
            await state.timelines.refill(principal.user_id, interests)
        else:
            user_id = None
    items, next_cursor = await state.timelines.page(user_id, cursor, limit)
    commerce = state.settings.commerce_url
    for item in items:
        item["product_urls"] = [
            f"{commerce}/products/{product_id}" for product_id in item["product_ids"]
        ]
    source = "timeline" if user_id else "recent"
    return {"items": items, "next_cursor": next_cursor, "source": source}
