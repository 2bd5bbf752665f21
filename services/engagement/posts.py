"""Checks that a post exists before its engagement is accepted."""

from collections import OrderedDict
from http import HTTPStatus

import httpx

from services.engagement.errors import PostNotFoundError
from shared.errors import DependencyError
from shared.identifiers import path_segment

# Posts are never renamed, so a positive answer can be cached; a post that
# does not exist yet may appear later, so misses are not cached.
KNOWN_POSTS_CACHE_SIZE = 100_000


class PostDirectory:
    def __init__(self, ingest_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=ingest_url, timeout=5.0)
        self._known: OrderedDict[str, None] = OrderedDict()

    async def close(self) -> None:
        await self._http.aclose()

    async def require(self, post_id: str) -> None:
        if post_id in self._known:
            self._known.move_to_end(post_id)
            return
        try:
            response = await self._http.get(f"/posts/{path_segment(post_id)}")
        except httpx.HTTPError as exc:
            raise DependencyError(
                f"ingest service is unreachable for post lookups: {exc}"
            ) from exc
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise PostNotFoundError(
                f"post {post_id!r} does not exist", field="post_id", value=post_id
            )
        if response.status_code != HTTPStatus.OK:
            raise DependencyError(
                f"ingest answered {response.status_code} for post {post_id!r}"
            )
        self._known[post_id] = None
        if len(self._known) > KNOWN_POSTS_CACHE_SIZE:
            self._known.popitem(last=False)
