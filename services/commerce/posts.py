"""Looks up posts in the ingest service, for attributing orders to creators."""

from http import HTTPStatus
from typing import Any

import httpx

from services.commerce.errors import PostNotFoundError
from shared.errors import DependencyError
from shared.identifiers import path_segment


class PostDirectory:
    def __init__(self, ingest_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=ingest_url, timeout=5.0)

    async def close(self) -> None:
        await self._http.aclose()

    async def get(self, post_id: str) -> dict[str, Any]:
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
        post: dict[str, Any] = response.json()
        return post
