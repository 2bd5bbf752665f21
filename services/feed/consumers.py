"""Kafka consumers that keep the timelines and counters current."""

import logging

from services.feed.timeline import Timelines
from shared.events import Envelope, PostCreated, PostStats

logger = logging.getLogger(__name__)


class UnexpectedEventError(ValueError):
    """An event type the handler does not know; retrying cannot help."""

    retriable = False


class PostEventHandler:
    def __init__(self, timelines: Timelines) -> None:
        self._timelines = timelines

    async def __call__(self, envelope: Envelope) -> None:
        if envelope.type != PostCreated.TYPE:
            raise UnexpectedEventError(f"unexpected event type {envelope.type!r}")
        post = PostCreated.model_validate(envelope.payload)
        written = await self._timelines.add_post(post)
        logger.info(
            "post fanned out",
            extra={
                "post_id": post.post_id,
                "event_id": envelope.event_id,
                "timelines": written,
            },
        )


class StatsEventHandler:
    def __init__(self, timelines: Timelines) -> None:
        self._timelines = timelines

    async def __call__(self, envelope: Envelope) -> None:
        if envelope.type != PostStats.TYPE:
            raise UnexpectedEventError(f"unexpected event type {envelope.type!r}")
        await self._timelines.set_counters(PostStats.model_validate(envelope.payload))
