"""Looks up posts in the ingest service, for attributing orders to creators."""

from typing import Any

from services.commerce.errors import PostNotFoundError
from shared.lookups import ServiceClient


class PostDirectory:
    def __init__(self, ingest_url: str) -> None:
        self._ingest = ServiceClient("ingest", ingest_url)

    async def close(self) -> None:
        await self._ingest.close()

    async def get(self, post_id: str) -> dict[str, Any]:
        not_found = PostNotFoundError(
            f"post {post_id!r} does not exist", field="post_id", value=post_id
        )
        return await self._ingest.get_resource("posts", post_id, not_found)
