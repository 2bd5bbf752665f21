"""The faust-streaming processor that turns engagement events into counters.

Delivery is at-least-once: after a crash faust replays events since its last
commit, on top of tables restored from their changelog topics. Every change
here is therefore idempotent. A like is a per-user state, so it counts once
however often it arrives, and each post remembers the offset of the last
event applied, so a replayed view is skipped.
"""

import logging
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
)

from services.engagement.counters import (
    LikeState,
    PostCounters,
    empty_counters,
    write_snapshot,
)
from services.engagement.watchdog import CHECK_INTERVAL_SECONDS, StallWatchdog
from shared import topics
from shared.events import EngagementAction, Envelope, PostStats
from shared.kafka import is_retriable
from shared.settings import Settings
from shared.stores import connect_redis

logger = logging.getLogger(__name__)

APP_ID = "vitrine-engagement"

EVENTS_APPLIED = Counter(
    "vitrine_engagement_events_applied_total",
    "Engagement events that changed or confirmed counters, by event type.",
    ["type"],
)
EVENTS_SKIPPED = Counter(
    "vitrine_engagement_events_replayed_total",
    "Engagement events skipped because they were already applied (replays).",
)
EVENTS_DEAD_LETTERED = Counter(
    "vitrine_engagement_events_dead_lettered_total",
    "Engagement events sent to the dead-letter topic because they are invalid.",
)


def create_stream_app(settings: Settings) -> faust.App:
    app = faust.App(
        APP_ID,
        broker=f"kafka://{settings.kafka_bootstrap_servers}",
        store="memory://",
        processing_guarantee="at_least_once",
        topic_partitions=settings.kafka_topic_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        # faust's web server serves /healthz and /metrics on
        # VITRINE_HTTP_HOST, which is loopback by default.
        web_enabled=True,
        web_bind=settings.http_host,
        web_port=settings.metrics_port,
        datadir=str(settings.worker_data_dir),
        # A member that died without leaving keeps its partitions until this
        # timeout, so faust's default of 60 s would stop counting that long.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        # The default of 2.8 s delays the offset commit, not the counters;
        # a shorter interval shrinks what a crash replays.
        broker_commit_every=100,
        broker_commit_interval=settings.worker_commit_interval_seconds,
    )
    engagement = app.topic(topics.ENGAGEMENT, key_type=bytes, value_type=bytes)
    post_stats = app.topic(topics.POST_STATS, key_type=bytes, value_type=bytes)
    dead_letters = app.topic(topics.DEAD_LETTER, key_type=bytes, value_type=bytes)
    # Keys are "<post id>/<user id>"; values are ``LikeState`` dicts.
    likes = app.Table("likes", default=dict, partitions=settings.kafka_topic_partitions)
    counters = app.Table(
        "post-counters",
        default=empty_counters,
        partitions=settings.kafka_topic_partitions,
    )
    # The client connects lazily, on the worker's event loop.
    redis = connect_redis(settings)

    watchdog = StallWatchdog(app, topics.ENGAGEMENT)

    @app.timer(CHECK_INTERVAL_SECONDS)
    async def watch_partitions() -> None:
        if is_processing(app):
            await watchdog.check()

    @app.page("/healthz")
    async def health(web: Any, request: Any) -> Any:
        if not is_processing(app):
            return web.json({"status": "starting"}, status=503)
        return web.json({"status": "ok"})

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        # aiohttp rejects a charset in content_type, so the exposition
        # format's full media type goes in as a header.
        return web.bytes(
            generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    @app.agent(engagement)
    async def count(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                envelope, action = parse_engagement(message.value)
            except ValueError as exc:
                await dead_letter(dead_letters, message, str(exc))
                continue
            current: PostCounters = dict(counters[action.post_id])  # type: ignore[assignment]
            if message.offset <= current["last_offset"]:
                EVENTS_SKIPPED.inc()
                if message.offset == current["last_offset"]:
                    # A crash may have come between storing these counters
                    # and publishing them.
                    await publish_counters(action.post_id, current)
                continue
            apply_action(likes, current, envelope.type, action, message.offset)
            current["last_offset"] = message.offset
            counters[action.post_id] = current
            EVENTS_APPLIED.labels(envelope.type).inc()
            await publish_counters(action.post_id, current)

    async def publish_counters(post_id: str, current: PostCounters) -> None:
        # An exception here would crash the agent and skip the event, so
        # outages of Redis or Kafka are waited out instead.
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(is_retriable),
            wait=wait_exponential(multiplier=0.2, max=30),
            before_sleep=log_retry,
            reraise=True,
        ):
            with attempt:
                await publish_stats(post_stats, post_id, current)
                await write_snapshot(redis, post_id, current)

    return app


def log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    logger.warning(
        "writing counters failed on attempt %d, retrying: %r",
        state.attempt_number,
        outcome.exception() if outcome is not None else None,
    )


def is_processing(app: faust.App) -> bool:
    """Tell whether the worker owns partitions and has restored its tables."""
    if app.rebalancing or not app.consumer.assignment():
        return False
    return bool(app.tables.recovery.completed.is_set())


def parse_engagement(value: bytes | None) -> tuple[Envelope, EngagementAction]:
    """Parse and check one message; raise ``ValueError`` naming what is wrong."""
    try:
        envelope = Envelope.model_validate_json(value or b"")
        action = EngagementAction.model_validate(envelope.payload)
    except ValidationError as exc:
        raise ValueError(f"invalid engagement event: {exc}") from exc
    known = {EngagementAction.LIKE, EngagementAction.UNLIKE, EngagementAction.VIEW}
    if envelope.type not in known:
        raise ValueError(f"unknown engagement event type {envelope.type!r}")
    return envelope, action


def apply_action(
    likes: Any,
    current: PostCounters,
    event_type: str,
    action: EngagementAction,
    offset: int,
) -> None:
    """Change ``current`` and the like table for the event at ``offset``.

    The like table and the counters are separate tables, so a crash can
    store one and not the other. Each like state records the offset that
    set it and the state before, so replaying that event after such a crash
    counts it exactly once.
    """
    if event_type == EngagementAction.VIEW:
        current["views"] += 1
        current["watch_ms"] += action.watch_ms
        return

    like_key = f"{action.post_id}/{action.user_id}"
    state: LikeState = likes[like_key]
    if state and state["offset"] == offset:
        was_liked = state["before"]
    else:
        was_liked = bool(state and state["liked"])
    now_liked = event_type == EngagementAction.LIKE
    likes[like_key] = {"liked": now_liked, "offset": offset, "before": was_liked}
    if now_liked and not was_liked:
        current["likes"] += 1
    elif was_liked and not now_liked:
        current["likes"] -= 1


async def publish_stats(topic: Any, post_id: str, current: PostCounters) -> None:
    stats = PostStats(
        post_id=post_id,
        likes=current["likes"],
        views=current["views"],
        watch_ms=current["watch_ms"],
    )
    envelope = Envelope(
        type=PostStats.TYPE, producer="engagement-worker", payload=stats.model_dump()
    )
    await topic.send(key=post_id.encode(), value=envelope.model_dump_json().encode())


async def dead_letter(topic: Any, message: Any, reason: str) -> None:
    headers = [
        ("vitrine.source.topic", message.topic.encode()),
        ("vitrine.source.partition", str(message.partition).encode()),
        ("vitrine.source.offset", str(message.offset).encode()),
        ("vitrine.consumer.group", APP_ID.encode()),
        ("vitrine.error", reason[:2000].encode()),
    ]
    await topic.send(key=message.key, value=message.value, headers=headers)
    EVENTS_DEAD_LETTERED.inc()
    logger.warning(
        "dead-lettered %s[%d]@%d: %s",
        message.topic,
        message.partition,
        message.offset,
        reason[:300],
    )
