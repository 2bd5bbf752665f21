"""Per-user timelines as Redis sorted sets, filled by fan-out on write.

Keys, all owned by the feed service:

- ``feed:post:{post_id}``: hash with the post as JSON and its live counters
- ``feed:interest:{name}:posts``: sorted set of post ids by creation time
- ``feed:interest:{name}:users``: set of user ids who chose the interest
- ``feed:timeline:{user_id}``: sorted set of post ids by ranking score
- ``feed:recent``: sorted set of all post ids by creation time, the fallback
  for users who chose no interests yet

Every write here is idempotent (ZADD, SADD, HSET of absolute values), so a
replayed event leaves the same state.
"""

import base64
import binascii
import json
import math
from collections import Counter
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from services.feed.ranking import timeline_score
from shared.errors import InvalidFieldError
from shared.events import PostCreated, PostStats

# Entries kept per timeline, as Twitter's home timeline kept 800 post ids.
TIMELINE_LENGTH = 800
# Posts kept per interest and in the recent list, used to build new timelines.
INDEX_LENGTH = 1000
COUNTER_FIELDS = ("likes", "views", "watch_ms")


def post_key(post_id: str) -> str:
    return f"feed:post:{post_id}"


def interest_posts_key(interest: str) -> str:
    return f"feed:interest:{interest}:posts"


def interest_users_key(interest: str) -> str:
    return f"feed:interest:{interest}:users"


def timeline_key(user_id: str) -> str:
    return f"feed:timeline:{user_id}"


RECENT_KEY = "feed:recent"


class Timelines:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add_post(self, post: PostCreated) -> int:
        """Store the post and fan it out to every interested user's timeline.

        Returns the number of timelines written.
        """
        created = post.created_at.timestamp()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(post_key(post.post_id), "post", post.model_dump_json())
            pipe.zadd(RECENT_KEY, {post.post_id: created})
            pipe.zremrangebyrank(RECENT_KEY, 0, -INDEX_LENGTH - 1)
            for interest in post.interests:
                pipe.zadd(interest_posts_key(interest), {post.post_id: created})
                pipe.zremrangebyrank(interest_posts_key(interest), 0, -INDEX_LENGTH - 1)
            await pipe.execute()

        matches: Counter[str] = Counter()
        for interest in post.interests:
            for user_id in await self.redis.smembers(interest_users_key(interest)):
                matches[user_id] += 1
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, count in matches.items():
                score = timeline_score(post.created_at, count)
                pipe.zadd(timeline_key(user_id), {post.post_id: score})
                pipe.zremrangebyrank(timeline_key(user_id), 0, -TIMELINE_LENGTH - 1)
            await pipe.execute()
        return len(matches)

    async def set_counters(self, stats: PostStats) -> None:
        await self.redis.hset(
            post_key(stats.post_id),
            mapping={field: getattr(stats, field) for field in COUNTER_FIELDS},
        )

    async def rebuild(self, user_id: str, old: list[str], new: list[str]) -> None:
        """Move the user between interest sets, then refill their timeline."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for interest in set(old) - set(new):
                pipe.srem(interest_users_key(interest), user_id)
            for interest in new:
                pipe.sadd(interest_users_key(interest), user_id)
            await pipe.execute()
        await self.refill(user_id, new)

    async def refill(self, user_id: str, interests: list[str]) -> None:
        """Add the newest posts of ``interests``; drop posts that match none.

        The user joins the interest sets before this reads the indexes, so a
        post published meanwhile is either read here or fanned out to the
        user. Nothing is deleted wholesale, so a concurrent fan-out survives.
        """
        candidates: dict[str, int] = {}
        for interest in interests:
            newest = await self.redis.zrevrange(
                interest_posts_key(interest), 0, TIMELINE_LENGTH - 1
            )
            for post_id in newest:
                candidates[post_id] = candidates.get(post_id, 0) + 1
        scores = await self._scores(candidates)
        stale = await self._not_matching(user_id, set(scores), set(interests))

        async with self.redis.pipeline(transaction=True) as pipe:
            if stale:
                pipe.zrem(timeline_key(user_id), *stale)
            if scores:
                pipe.zadd(timeline_key(user_id), scores)
                pipe.zremrangebyrank(timeline_key(user_id), 0, -TIMELINE_LENGTH - 1)
            await pipe.execute()

    async def _not_matching(
        self, user_id: str, keep: set[str], interests: set[str]
    ) -> list[str]:
        """List timeline posts outside ``keep`` that match none of ``interests``."""
        others = [
            post_id
            for post_id in await self.redis.zrange(timeline_key(user_id), 0, -1)
            if post_id not in keep
        ]
        if not others:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for post_id in others:
                pipe.hget(post_key(post_id), "post")
            stored = await pipe.execute()
        stale = []
        for post_id, raw in zip(others, stored, strict=True):
            if raw is None or not interests & set(json.loads(raw)["interests"]):
                stale.append(post_id)
        return stale

    async def has_timeline(self, user_id: str) -> bool:
        return bool(await self.redis.exists(timeline_key(user_id)))

    async def page(
        self, user_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Read one page, newest-ranked first, after the position in ``cursor``.

        ``user_id`` None reads the recent list instead of a personal timeline.
        """
        key = RECENT_KEY if user_id is None else timeline_key(user_id)
        position = decode_cursor(cursor) if cursor else None
        entries = await self._entries_after(key, position, limit)
        posts = await self._posts(entries)
        next_cursor = None
        if len(entries) == limit:
            last_id, last_score = entries[-1]
            next_cursor = encode_cursor(last_score, last_id)
        return posts, next_cursor

    async def _entries_after(
        self, key: str, position: tuple[float, str] | None, limit: int
    ) -> list[tuple[str, float]]:
        # Entries are ordered by (score, member) descending. The cursor
        # contains the last (score, member) served, and the next page starts
        # below it.
        if position is None:
            raw = await self.redis.zrevrange(key, 0, limit - 1, withscores=True)
            return [(member, float(score)) for member, score in raw]
        last_score, last_id = position
        result: list[tuple[str, float]] = []
        offset = 0
        batch = limit + 20
        while len(result) < limit:
            raw = await self.redis.zrevrangebyscore(
                key, last_score, "-inf", start=offset, num=batch, withscores=True
            )
            for member, score in raw:
                if score == last_score and member >= last_id:
                    continue
                result.append((member, float(score)))
            if len(raw) < batch:
                break
            offset += batch
        return result[:limit]

    async def _posts(self, entries: list[tuple[str, float]]) -> list[dict[str, Any]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for post_id, _ in entries:
                pipe.hgetall(post_key(post_id))
            stored = await pipe.execute()
        posts = []
        for (_, score), fields in zip(entries, stored, strict=True):
            if "post" not in fields:
                continue
            post = json.loads(fields["post"])
            for field in COUNTER_FIELDS:
                post[field] = int(fields.get(field, 0))
            post["score"] = score
            posts.append(post)
        return posts

    async def _scores(self, matches: dict[str, int]) -> dict[str, float]:
        if not matches:
            return {}
        post_ids = list(matches)
        async with self.redis.pipeline(transaction=False) as pipe:
            for post_id in post_ids:
                pipe.hget(post_key(post_id), "post")
            stored = await pipe.execute()
        scores = {}
        for post_id, raw in zip(post_ids, stored, strict=True):
            if raw is None:
                continue
            created = datetime.fromisoformat(json.loads(raw)["created_at"])
            scores[post_id] = timeline_score(created, matches[post_id])
        return scores


def encode_cursor(score: float, post_id: str) -> str:
    raw = json.dumps([score, post_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        score, post_id = json.loads(base64.urlsafe_b64decode(padded))
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise TypeError(f"cursor score {score!r} is not a number")
        if not isinstance(post_id, str):
            raise TypeError(f"cursor post id {post_id!r} is not a string")
        position = float(score), post_id
        if not math.isfinite(position[0]):
            raise ValueError(f"cursor score {score!r} is not a finite number")
        return position
    except (
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        binascii.Error,
    ) as exc:
        raise InvalidFieldError(
            "cursor is invalid; pass the next_cursor of the previous page unchanged",
            field="cursor",
            value=cursor,
        ) from exc
