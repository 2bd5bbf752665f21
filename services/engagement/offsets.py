"""Start offsets of the engagement worker's consumer group.

Two gaps in the Kafka clients under faust-streaming 0.15.3 can make a
restarted worker skip events, and this module closes both:

- a group that never committed has no offset to go back to, so it gets the
  earliest offsets committed before faust starts;
- aiokafka 0.14's ``seek_to_committed`` ignores a committed offset of 0
  (aio-libs/aiokafka issue 1003). faust calls it after recovery to rewind
  partitions whose prefetched records it dropped, so a partition whose
  committed offset was still 0 was left past those records.
"""

import functools
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential,
)

from shared.kafka import is_retriable
from shared.settings import Settings

logger = logging.getLogger(__name__)


# A new broker returns "coordinator not available" until it has created its
# offsets topic, which takes a few seconds.
STARTUP_RETRY_SECONDS = 60


async def commit_missing_start_offsets(
    settings: Settings, group_id: str, topic: str
) -> dict[TopicPartition, int]:
    """Run ``commit_start_offsets``, retrying while the broker is starting up."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(is_retriable),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_delay(STARTUP_RETRY_SECONDS),
        reraise=True,
    ):
        with attempt:
            return await commit_start_offsets(settings, group_id, topic)
    raise AssertionError("unreachable: tenacity re-raises the last error")


async def commit_start_offsets(
    settings: Settings, group_id: str, topic: str
) -> dict[TopicPartition, int]:
    """Commit the earliest offset of each partition the group never committed.

    Returns the offsets committed here; a group with live members is left
    to commit its own.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
    )
    try:
        await admin.start()
        await consumer.start()
        committed = await admin.list_consumer_group_offsets(group_id)
        (description,) = await admin.describe_topics([topic])
        partitions = sorted(entry["partition"] for entry in description["partitions"])
        missing = [
            TopicPartition(topic, partition)
            for partition in partitions
            if committed.get(TopicPartition(topic, partition)) is None
            or committed[TopicPartition(topic, partition)].offset < 0
        ]
        if not missing:
            return {}
        consumer.assign(missing)
        starts: dict[TopicPartition, int] = await consumer.beginning_offsets(missing)
        try:
            await consumer.commit(starts)
        except KafkaError as exc:
            if is_retriable(exc):
                raise
            # The group has live members, which commit their own offsets.
            logger.info("group %s did not take start offsets: %r", group_id, exc)
            return {}
        logger.info("committed start offsets %s for group %s", starts, group_id)
        return starts
    finally:
        await consumer.stop()
        await admin.close()


SeekToCommitted = Callable[..., Awaitable[dict[TopicPartition, int | None]]]


def include_offset_zero_in_seek_to_committed() -> None:
    """Make ``AIOKafkaConsumer.seek_to_committed`` also seek to offset 0.

    Applies once per process; the engagement worker calls it before faust
    creates its consumer.
    """
    original: SeekToCommitted = AIOKafkaConsumer.seek_to_committed
    if getattr(original, "includes_offset_zero", False):
        return

    @functools.wraps(original)
    async def seek_to_committed(
        self: AIOKafkaConsumer, *partitions: TopicPartition
    ) -> dict[TopicPartition, int | None]:
        committed = await original(self, *partitions)
        for partition, offset in committed.items():
            if offset == 0:
                self.seek(partition, 0)
        return committed

    seek_to_committed.includes_offset_zero = True  # type: ignore[attr-defined]
    AIOKafkaConsumer.seek_to_committed = seek_to_committed  # type: ignore[method-assign]
    logger.info("aiokafka seek_to_committed now seeks to a committed offset of 0")
