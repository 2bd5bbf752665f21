"""Checks tagged products against the commerce service's catalog."""

from http import HTTPStatus

import httpx

from services.ingest.errors import UnknownProductError
from shared.errors import DependencyError
from shared.identifiers import path_segment


class CatalogClient:
    def __init__(self, commerce_url: str) -> None:
        self._http = httpx.AsyncClient(base_url=commerce_url, timeout=5.0)

    async def close(self) -> None:
        await self._http.aclose()

    async def require_products(self, product_ids: list[str]) -> None:
        """Raise ``UnknownProductError`` naming the first id the catalog lacks."""
        for product_id in product_ids:
            try:
                segment = path_segment(product_id)
                response = await self._http.get(f"/products/{segment}")
            except httpx.HTTPError as exc:
                raise DependencyError(
                    f"commerce service is unreachable for product lookups: {exc}"
                ) from exc
            if response.status_code == HTTPStatus.NOT_FOUND:
                raise UnknownProductError(
                    f"product {product_id!r} is not in the catalog",
                    field="products",
                    value=product_id,
                )
            if response.status_code != HTTPStatus.OK:
                raise DependencyError(
                    f"commerce answered {response.status_code} for product "
                    f"{product_id!r}"
                )
