"""Start offsets of the worker's consumer group, on a real Kafka broker."""

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.engagement.offsets import (
    commit_missing_start_offsets,
    include_offset_zero_in_seek_to_committed,
)
from shared.kafka import ensure_topics
from shared.settings import Settings


async def committed_offsets(
    settings: Settings, group: str
) -> dict[TopicPartition, int]:
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


async def test_seek_to_committed_rewinds_to_zero(settings: Settings) -> None:
    topic = f"vitrine.test-offsets-{uuid.uuid4().hex[:8]}"
    group = f"test-group-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    partition = TopicPartition(topic, 0)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    for number in range(3):
        await producer.send_and_wait(topic, str(number).encode(), partition=0)
    await producer.stop()
    await commit_missing_start_offsets(settings, group, topic)
    include_offset_zero_in_seek_to_committed()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([partition])
        await consumer.getmany(partition, timeout_ms=5000)
        read_to = await consumer.position(partition)
        committed = await consumer.seek_to_committed(partition)
        rewound_to = await consumer.position(partition)
    finally:
        await consumer.stop()

    assert read_to == 3
    assert committed == {partition: 0}
    assert rewound_to == 0
