"""Per-post counters and their Redis snapshot.

The stream worker owns the counters; after each change it writes the
absolute values to a Redis hash, which the HTTP API reads.
"""

from typing import Any, TypedDict

from redis.asyncio import Redis


class PostCounters(TypedDict):
    likes: int
    views: int
    watch_ms: int
    # Offset of the last engagement event applied to this post. Every event
    # of a post is on one partition in order, so a replayed event has an
    # offset at or below this one and is skipped.
    last_offset: int


class LikeState(TypedDict):
    liked: bool
    # Offset of the event that set ``liked``, and the state before it.
    offset: int
    before: bool


def empty_counters() -> PostCounters:
    return {"likes": 0, "views": 0, "watch_ms": 0, "last_offset": -1}


def snapshot_key(post_id: str) -> str:
    return f"engagement:stats:{post_id}"


async def write_snapshot(redis: Redis, post_id: str, counters: PostCounters) -> None:
    await redis.hset(
        snapshot_key(post_id),
        mapping={
            "likes": counters["likes"],
            "views": counters["views"],
            "watch_ms": counters["watch_ms"],
        },
    )


async def read_snapshot(redis: Redis, post_id: str) -> dict[str, Any]:
    values = await redis.hgetall(snapshot_key(post_id))
    return {
        "post_id": post_id,
        "likes": int(values.get("likes", 0)),
        "views": int(values.get("views", 0)),
        "watch_ms": int(values.get("watch_ms", 0)),
    }
