"""Timelines on a real Redis server."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from services.feed.timeline import Timelines, timeline_key
from shared.events import MediaInfo, PostCreated, PostStats
from shared.settings import Settings
from shared.stores import connect_redis

START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = connect_redis(settings)
    yield client
    await client.aclose()


def make_post(interests: list[str], minute: int, creator: str = "ana") -> PostCreated:
    return PostCreated(
        post_id=uuid.uuid4().hex,
        creator_id=creator,
        caption=f"post at minute {minute}",
        interests=interests,
        product_ids=["p1"],
        media=MediaInfo(
            kind="photo",
            url="http://media/x.jpg",
            content_type="image/jpeg",
            width=10,
            height=10,
            sha256="0" * 64,
        ),
        created_at=START + timedelta(minutes=minute),
    )


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def test_post_reaches_only_interested_users(redis: Redis) -> None:
    timelines = Timelines(redis)
    pets, gaming = unique("pets"), unique("gaming")
    fan, other = unique("fan"), unique("other")
    await timelines.rebuild(fan, [], [pets])
    await timelines.rebuild(other, [], [gaming])

    post = make_post([pets], minute=1)
    written = await timelines.add_post(post)

    fan_items, _ = await timelines.page(fan, None, 10)
    other_items, _ = await timelines.page(other, None, 10)
    assert written == 1
    assert [item["post_id"] for item in fan_items] == [post.post_id]
    assert other_items == []


async def test_replayed_post_event_is_idempotent(redis: Redis) -> None:
    timelines = Timelines(redis)
    pets, fan = unique("pets"), unique("fan")
    await timelines.rebuild(fan, [], [pets])
    post = make_post([pets], minute=1)

    await timelines.add_post(post)
    await timelines.add_post(post)

    assert await redis.zcard(timeline_key(fan)) == 1


async def test_pages_have_no_duplicates_or_gaps(redis: Redis) -> None:
    timelines = Timelines(redis)
    pets, fan = unique("pets"), unique("fan")
    await timelines.rebuild(fan, [], [pets])
    # Two posts per minute share a score, so paging must break ties by id.
    posts = [make_post([pets], minute=i // 2) for i in range(25)]
    for post in posts:
        await timelines.add_post(post)

    served: list[str] = []
    cursor = None
    for _ in range(10):
        items, cursor = await timelines.page(fan, cursor, 4)
        served.extend(item["post_id"] for item in items)
        if cursor is None:
            break

    assert len(served) == len(set(served))
    assert set(served) == {post.post_id for post in posts}


async def test_more_matching_interests_rank_first(redis: Redis) -> None:
    timelines = Timelines(redis)
    pets, gaming, fan = unique("pets"), unique("gaming"), unique("fan")
    await timelines.rebuild(fan, [], [pets, gaming])
    both = make_post([pets, gaming], minute=0)
    newer = make_post([pets], minute=10)
    await timelines.add_post(both)
    await timelines.add_post(newer)

    items, _ = await timelines.page(fan, None, 10)

    assert [item["post_id"] for item in items] == [both.post_id, newer.post_id]


async def test_rebuild_fills_from_existing_posts(redis: Redis) -> None:
    timelines = Timelines(redis)
    pets, gaming, late = unique("pets"), unique("gaming"), unique("late")
    pet_post = make_post([pets], minute=1)
    game_post = make_post([gaming], minute=2)
    await timelines.add_post(pet_post)
    await timelines.add_post(game_post)

    await timelines.rebuild(late, [], [pets])
    first, _ = await timelines.page(late, None, 10)
    await timelines.rebuild(late, [pets], [gaming])
    second, _ = await timelines.page(late, None, 10)

    assert [item["post_id"] for item in first] == [pet_post.post_id]
    assert [item["post_id"] for item in second] == [game_post.post_id]


async def test_counters_show_in_page(redis: Redis) -> None:
    timelines = Timelines(redis)
    pets, fan = unique("pets"), unique("fan")
    await timelines.rebuild(fan, [], [pets])
    post = make_post([pets], minute=1)
    await timelines.add_post(post)

    await timelines.set_counters(
        PostStats(post_id=post.post_id, likes=3, views=7, watch_ms=900)
    )
    items, _ = await timelines.page(fan, None, 10)

    assert items[0]["likes"] == 3
    assert items[0]["views"] == 7
    assert items[0]["watch_ms"] == 900
