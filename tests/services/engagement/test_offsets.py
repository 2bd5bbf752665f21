"""Start offsets of the worker's consumer group, on a real Kafka broker."""

import uuid

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.engagement.offsets import commit_missing_start_offsets
from shared.kafka import ensure_topics
from shared.settings import Settings


async def committed_offsets(settings: Settings, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {partition: meta.offset for partition, meta in offsets.items()}


async def test_new_group_gets_start_offsets(settings: Settings) -> None:
    topic = f"vitrine.test-offsets-{uuid.uuid4().hex[:8]}"
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])

    committed = await commit_missing_start_offsets(settings, group, topic)

    expected = {TopicPartition(topic, partition): 0 for partition in range(3)}
    assert committed == expected
    assert await committed_offsets(settings, group) == expected


async def test_committed_group_is_left_alone(settings: Settings) -> None:
    topic = f"vitrine.test-offsets-{uuid.uuid4().hex[:8]}"
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    await commit_missing_start_offsets(settings, group, topic)

    assert await commit_missing_start_offsets(settings, group, topic) == {}
