"""Checks that a post exists before its engagement is accepted."""

from collections import OrderedDict

from services.engagement.errors import PostNotFoundError
from shared.lookups import ServiceClient

# Posts are never renamed, so a post found once stays cached. A post that
# does not exist yet may appear later, so misses are not cached.
KNOWN_POSTS_CACHE_SIZE = 100_000


class PostDirectory:
    def __init__(self, ingest_url: str) -> None:
        self._ingest = ServiceClient("ingest", ingest_url)
        self._known: OrderedDict[str, None] = OrderedDict()

    async def close(self) -> None:
        await self._ingest.close()

    async def require(self, post_id: str) -> None:
        if post_id in self._known:
            self._known.move_to_end(post_id)
            return
        not_found = PostNotFoundError(
            f"post {post_id!r} does not exist", field="post_id", value=post_id
        )
        await self._ingest.get_resource("posts", post_id, not_found)
        self._known[post_id] = None
        if len(self._known) > KNOWN_POSTS_CACHE_SIZE:
            self._known.popitem(last=False)
