"""Transactional outbox on MongoDB documents.

A service stores an entity and the event announcing it in one document write
(the ``outbox`` field), then publishes. If Kafka is down or the process dies
between the two steps, the relay finds the document later and publishes the
event then. Every consumer applies events idempotently, so publishing
twice is harmless.
"""

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.events import Envelope, utc_now
from shared.kafka import EventProducer, is_retriable

logger = logging.getLogger(__name__)

OUTBOX_FIELD = "outbox"
# The request that stored an event publishes it itself. The relay takes over
# only events older than this, so the two rarely publish the same event.
RELAY_DELAY = timedelta(seconds=5)


def outbox_entry(topic: str, key: str, envelope: Envelope) -> dict[str, Any]:
    """Build the value of a document's ``outbox`` field."""
    return {
        "topic": topic,
        "key": key,
        "envelope": envelope.model_dump_json(),
        "stored_at": utc_now(),
    }


class OutboxRelay:
    """Publishes the pending events of one collection and clears them."""

    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        producer: EventProducer,
        poll_seconds: float = 1.0,
    ) -> None:
        self._collection = collection
        self._producer = producer
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None

    async def publish(self, document: dict[str, Any]) -> None:
        """Publish the document's pending event, then remove it from the document."""
        entry = document[OUTBOX_FIELD]
        envelope = Envelope.model_validate(json.loads(entry["envelope"]))
        await self._producer.publish(entry["topic"], entry["key"], envelope)
        await self._collection.update_one(
            {"_id": document["_id"], f"{OUTBOX_FIELD}.envelope": entry["envelope"]},
            {"$unset": {OUTBOX_FIELD: ""}},
        )

    async def publish_or_defer(self, document: dict[str, Any]) -> None:
        """Publish now; on a retriable failure leave the event for the relay."""
        try:
            await self.publish(document)
        except Exception as exc:
            if not is_retriable(exc):
                raise
            logger.warning(
                "publishing the event of %s failed, the relay retries it: %s",
                document["_id"],
                exc,
            )

    def start(self) -> None:
        name = f"outbox-{self._collection.name}"
        self._task = asyncio.create_task(self._run(), name=name)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass

    async def _run(self) -> None:
        while True:
            try:
                await self._publish_pending()
            except Exception:
                logger.exception(
                    "outbox relay of %s failed; retrying in %.1f s",
                    self._collection.name,
                    self._poll_seconds,
                )
            await asyncio.sleep(self._poll_seconds)

    async def create_index(self) -> None:
        """Index pending events; sparse, because most documents have none."""
        await self._collection.create_index(f"{OUTBOX_FIELD}.stored_at", sparse=True)

    async def _publish_pending(self) -> None:
        due = utc_now() - RELAY_DELAY
        cursor = self._collection.find({f"{OUTBOX_FIELD}.stored_at": {"$lt": due}})
        cursor = cursor.limit(100)
        async for document in cursor:
            try:
                await self.publish(document)
            except Exception:
                # One event that keeps failing must not block the others.
                logger.exception(
                    "relay could not publish the pending event of %s", document["_id"]
                )
                continue
            logger.info("relay published the pending event of %s", document["_id"])
