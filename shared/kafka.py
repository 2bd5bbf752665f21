"""Kafka producer and consumer wiring on aiokafka.

Consumers commit offsets only after their handler finished, so delivery is
at-least-once and every handler must be idempotent. A message that can never
be processed goes to the dead-letter topic, with headers naming its origin
and the error. A retriable failure is retried with backoff instead, so no
accepted event is dropped while a store is briefly down.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

import pymongo.errors
import redis.exceptions
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    TopicAlreadyExistsError,
)
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
)

from shared import topics
from shared.errors import DependencyError, VitrineError
from shared.events import Envelope
from shared.observability import EVENTS_CONSUMED, EVENTS_DEAD_LETTERED
from shared.settings import Settings

logger = logging.getLogger(__name__)

EventHandler = Callable[[Envelope], Awaitable[None]]

# Seconds a request waits for Kafka to accept an event before it gives up
# (or, with an outbox, leaves the event to the relay). aiokafka would wait
# for the broker indefinitely while it is down.
PUBLISH_TIMEOUT_SECONDS = 5.0
# Pause before a consumer loop that failed unexpectedly starts again.
CONSUMER_RESTART_SECONDS = 1.0


class PublishError(VitrineError):
    """Kafka rejected a message for a reason that retrying cannot fix."""

    code = "publish_failed"


# Errors of the stores that mean "not now" rather than "never".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    pymongo.errors.AutoReconnect,
    pymongo.errors.ConnectionFailure,
    pymongo.errors.NetworkTimeout,
)


def is_retriable(exc: BaseException) -> bool:
    """Tell whether repeating the failed operation later can succeed."""
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    return bool(getattr(exc, "retriable", False))


async def ensure_topics(settings: Settings, names: Iterable[str] = topics.ALL) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=name,
                num_partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
            for name in names
            if name not in existing
        ]
        if not missing:
            return
        try:
            await admin.create_topics(missing)
        except TopicAlreadyExistsError:
            # Another service created them between our list and create calls.
            logger.info("topics %s were created by another process", missing)
            return
        logger.info("created topics %s", [topic.name for topic in missing])
    finally:
        await admin.close()


class EventProducer:
    """Publishes envelopes as JSON, waiting for the broker's acknowledgement."""

    def __init__(self, settings: Settings, producer_name: str) -> None:
        self.producer_name = producer_name
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def check(self) -> None:
        """Raise unless the broker returns metadata."""
        await self._producer.client.fetch_all_metadata()

    def envelope(self, event_type: str, payload: dict[str, object]) -> Envelope:
        return Envelope(type=event_type, producer=self.producer_name, payload=payload)

    async def publish(self, topic: str, key: str, envelope: Envelope) -> None:
        value = envelope.model_dump_json().encode()
        await self.send_raw(topic, key.encode(), value)

    async def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(topic, value, key=key, headers=headers),
                PUBLISH_TIMEOUT_SECONDS,
            )
        except TimeoutError as exc:
            raise DependencyError(
                f"Kafka did not acknowledge the message for topic {topic} within "
                f"{PUBLISH_TIMEOUT_SECONDS:.0f} s; try again later"
            ) from exc
        except KafkaError as exc:
            if not exc.retriable:
                raise PublishError(
                    f"Kafka rejected the message for topic {topic}: {exc!r}"
                ) from exc
            raise DependencyError(
                f"Kafka did not accept the message for topic {topic}: {exc!r}"
            ) from exc


class EventConsumer:
    """Runs ``handler`` for every envelope on ``topic_names`` in one consumer group."""

    def __init__(
        self,
        settings: Settings,
        group_id: str,
        topic_names: list[str],
        handler: EventHandler,
        dead_letters: EventProducer,
    ) -> None:
        self.group_id = group_id
        self.topic_names = topic_names
        self._handler = handler
        self._dead_letters = dead_letters
        self._consumer = AIOKafkaConsumer(
            *topic_names,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.group_id}")
        logger.info("consumer %s started on %s", self.group_id, self.topic_names)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                logger.exception("consumer %s ended with an error", self.group_id)
        await self._consumer.stop()
        logger.info("consumer %s stopped", self.group_id)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        """Consume until cancelled, restarting the loop after unexpected errors."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "consumer %s failed; restarting in %.0f s from the last commit",
                    self.group_id,
                    CONSUMER_RESTART_SECONDS,
                )
                await asyncio.sleep(CONSUMER_RESTART_SECONDS)

    async def _consume(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=100)
            for partition, records in batches.items():
                if partition not in self._consumer.assignment():
                    # Revoked by a rebalance; the new owner reads these again.
                    continue
                for record in records:
                    await self._process(record)
                offset = records[-1].offset + 1
                try:
                    await self._consumer.commit({partition: offset})
                except (CommitFailedError, IllegalStateError) as exc:
                    # The partition moved to another member during the batch.
                    # It re-reads from the last commit, and handlers are
                    # idempotent, so nothing is lost or counted twice.
                    logger.warning(
                        "consumer %s could not commit %s after a rebalance: %r",
                        self.group_id,
                        partition,
                        exc,
                    )

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            envelope = Envelope.model_validate_json(record.value or b"")
        except ValidationError as exc:
            await self._dead_letter(record, f"invalid envelope: {exc}")
            return

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(is_retriable),
                wait=wait_exponential(multiplier=0.2, max=30),
                before_sleep=self._log_retry,
                reraise=True,
            ):
                with attempt:
                    await self._handler(envelope)
        except Exception as exc:
            # Not retriable: the same message would fail the same way forever.
            logger.exception(
                "event %s of type %s failed in %s; sending it to the dead-letter topic",
                envelope.event_id,
                envelope.type,
                self.group_id,
            )
            await self._dead_letter(record, f"{type(exc).__name__}: {exc}")
            return
        EVENTS_CONSUMED.labels(topic=record.topic, group=self.group_id).inc()

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        logger.warning(
            "consumer %s retrying after attempt %d failed: %r",
            self.group_id,
            state.attempt_number,
            error,
        )

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], reason: str
    ) -> None:
        headers = [
            ("vitrine.source.topic", record.topic.encode()),
            ("vitrine.source.partition", str(record.partition).encode()),
            ("vitrine.source.offset", str(record.offset).encode()),
            ("vitrine.consumer.group", self.group_id.encode()),
            ("vitrine.error", reason[:2000].encode()),
        ]
        # The offset is committed after this returns, so the dead letter must be
        # stored first; a broker outage is waited out rather than skipped.
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(is_retriable),
                wait=wait_exponential(multiplier=0.2, max=30),
                before_sleep=self._log_retry,
                reraise=True,
            ):
                with attempt:
                    await self._dead_letters.send_raw(
                        topics.DEAD_LETTER, record.key, record.value, headers
                    )
        except PublishError:
            # The broker refuses this message for good (for example, too large
            # for the dead-letter topic), so its coordinates go to the log.
            logger.exception(
                "could not dead-letter %s[%d]@%d for %s; skipping it: %s",
                record.topic,
                record.partition,
                record.offset,
                self.group_id,
                reason[:300],
            )
            return
        EVENTS_DEAD_LETTERED.labels(topic=record.topic, group=self.group_id).inc()
        logger.warning(
            "dead-lettered %s[%d]@%d for %s: %s",
            record.topic,
            record.partition,
            record.offset,
            self.group_id,
            reason[:300],
        )


__all__ = [
    "EventConsumer",
    "EventHandler",
    "EventProducer",
    "PublishError",
    "ensure_topics",
    "is_retriable",
]
