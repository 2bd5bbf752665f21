"""The consumer wiring against a real Kafka broker."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer

from shared import topics
from shared.errors import DependencyError, InvalidFieldError
from shared.events import Envelope
from shared.kafka import EventConsumer, EventProducer, ensure_topics, is_retriable
from shared.settings import Settings

# A topic of its own keeps these events away from running services' consumers.
TOPIC = f"vitrine.test-kafka-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[EventProducer]:
    await ensure_topics(settings, [TOPIC, topics.DEAD_LETTER])
    producer = EventProducer(settings, "test")
    await producer.start()
    yield producer
    await producer.stop()


async def dead_letters_for(
    settings: Settings, key: bytes, group: str, count: int
) -> list[object]:
    """Read dead letters with ``key`` that consumer group ``group`` wrote."""
    consumer = AIOKafkaConsumer(
        topics.DEAD_LETTER,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=f"test-dlq-{uuid.uuid4().hex}",
    )
    await consumer.start()
    found = []
    try:
        async with asyncio.timeout(20):
            async for record in consumer:
                origin = dict(record.headers).get("vitrine.consumer.group")
                if record.key == key and origin == group.encode():
                    found.append(record)
                if len(found) == count:
                    break
    finally:
        await consumer.stop()
    return found


def test_is_retriable_reads_error_flag() -> None:
    assert is_retriable(DependencyError("broker down"))
    assert is_retriable(ConnectionResetError())
    assert not is_retriable(InvalidFieldError("bad"))
    assert not is_retriable(KeyError("x"))


async def test_poison_message_goes_to_dead_letter(
    settings: Settings, producer: EventProducer
) -> None:
    topic = TOPIC
    key = f"poison-{uuid.uuid4().hex}"
    handled: list[Envelope] = []

    async def handle(envelope: Envelope) -> None:
        handled.append(envelope)

    group = f"test-{uuid.uuid4().hex}"
    consumer = EventConsumer(settings, group, [topic], handle, producer)
    await consumer.start()
    try:
        await producer.send_raw(topic, key.encode(), b"{not json")
        good = producer.envelope("post.created", {"marker": key})
        await producer.publish(topic, key, good)
        records = await dead_letters_for(settings, key.encode(), group, 1)
        async with asyncio.timeout(20):
            while not any(e.payload.get("marker") == key for e in handled):
                await asyncio.sleep(0.1)
    finally:
        await consumer.stop()

    headers = dict(records[0].headers)  # type: ignore[attr-defined]
    assert records[0].value == b"{not json"  # type: ignore[attr-defined]
    assert headers["vitrine.source.topic"] == topic.encode()
    assert headers["vitrine.consumer.group"] == group.encode()
    assert b"invalid envelope" in headers["vitrine.error"]


async def test_handler_error_dead_letters_and_continues(
    settings: Settings, producer: EventProducer
) -> None:
    key = f"bad-{uuid.uuid4().hex}"
    seen: list[str] = []

    async def handle(envelope: Envelope) -> None:
        if envelope.payload.get("bad"):
            raise InvalidFieldError("payload is bad", field="bad", value=True)
        seen.append(envelope.event_id)

    group = f"test-{key}"
    consumer = EventConsumer(settings, group, [TOPIC], handle, producer)
    await consumer.start()
    try:
        await producer.publish(TOPIC, key, producer.envelope("x", {"bad": True}))
        last = producer.envelope("x", {"bad": False})
        await producer.publish(TOPIC, key, last)
        records = await dead_letters_for(settings, key.encode(), group, 1)
        async with asyncio.timeout(20):
            while last.event_id not in seen:
                await asyncio.sleep(0.1)
    finally:
        await consumer.stop()

    assert b"payload is bad" in dict(records[0].headers)["vitrine.error"]  # type: ignore[attr-defined]


async def test_retriable_error_is_retried_not_dead_lettered(
    settings: Settings, producer: EventProducer
) -> None:
    key = f"flaky-{uuid.uuid4().hex}"
    attempts: list[int] = []

    async def handle(envelope: Envelope) -> None:
        if envelope.payload.get("marker") != key:
            return
        attempts.append(1)
        if len(attempts) < 3:
            raise DependencyError("store briefly down")

    consumer = EventConsumer(settings, f"test-{key}", [TOPIC], handle, producer)
    await consumer.start()
    try:
        await producer.publish(TOPIC, key, producer.envelope("x", {"marker": key}))
        async with asyncio.timeout(20):
            while len(attempts) < 3:
                await asyncio.sleep(0.1)
    finally:
        await consumer.stop()

    assert len(attempts) == 3


async def test_restarted_consumer_resumes_after_committed_offset(
    settings: Settings, producer: EventProducer
) -> None:
    key = f"resume-{uuid.uuid4().hex}"
    group = f"test-{key}"
    seen: list[int] = []

    async def handle(envelope: Envelope) -> None:
        if envelope.payload.get("marker") == key:
            seen.append(int(envelope.payload["n"]))

    async def consume_until(count: int) -> None:
        consumer = EventConsumer(settings, group, [TOPIC], handle, producer)
        await consumer.start()
        try:
            async with asyncio.timeout(20):
                while len(seen) < count:
                    await asyncio.sleep(0.1)
        finally:
            await consumer.stop()

    await producer.publish(TOPIC, key, producer.envelope("x", {"marker": key, "n": 1}))
    await consume_until(1)
    await producer.publish(TOPIC, key, producer.envelope("x", {"marker": key, "n": 2}))
    await consume_until(2)

    assert seen == [1, 2]


async def test_consumers_survive_rebalance(
    settings: Settings, producer: EventProducer
) -> None:
    key_prefix = f"rebalance-{uuid.uuid4().hex}"
    group = f"test-{key_prefix}"
    seen: set[int] = set()

    async def handle(envelope: Envelope) -> None:
        if envelope.payload.get("marker") == key_prefix:
            # Slow enough that the second member joins mid-batch.
            await asyncio.sleep(0.02)
            seen.add(int(envelope.payload["n"]))

    first = EventConsumer(settings, group, [TOPIC], handle, producer)
    second = EventConsumer(settings, group, [TOPIC], handle, producer)
    await first.start()
    try:
        for number in range(60):
            envelope = producer.envelope("x", {"marker": key_prefix, "n": number})
            await producer.publish(TOPIC, f"{key_prefix}-{number}", envelope)
        await second.start()
        async with asyncio.timeout(60):
            while len(seen) < 60:
                await asyncio.sleep(0.1)
        first_running = first.running
        second_running = second.running
    finally:
        await second.stop()
        await first.stop()

    assert seen == set(range(60))
    assert first_running
    assert second_running
