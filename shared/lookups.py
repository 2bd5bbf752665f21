"""Reads of single resources from another Vitrine service over HTTP."""

from http import HTTPStatus
from typing import Any

import httpx

from shared.errors import DependencyError, VitrineError
from shared.identifiers import path_segment

LOOKUP_TIMEOUT_SECONDS = 5.0


class ServiceClient:
    """An HTTP client for one other service, e.g. ingest or commerce."""

    def __init__(self, service: str, base_url: str) -> None:
        self.service = service
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=LOOKUP_TIMEOUT_SECONDS
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def get_resource(
        self, collection: str, resource_id: str, not_found: VitrineError
    ) -> dict[str, Any]:
        """Return ``/<collection>/<resource_id>``, or raise ``not_found`` on 404."""
        try:
            response = await self._http.get(
                f"/{collection}/{path_segment(resource_id)}"
            )
        except httpx.HTTPError as exc:
            raise DependencyError(
                f"{self.service} service is unreachable for {collection} lookups: {exc}"
            ) from exc
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise not_found
        if response.status_code != HTTPStatus.OK:
            raise DependencyError(
                f"{self.service} returned {response.status_code} for "
                f"{collection} {resource_id!r}"
            )
        resource: dict[str, Any] = response.json()
        return resource
