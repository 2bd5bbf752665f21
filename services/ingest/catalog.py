"""Checks tagged products against the commerce service's catalog."""

from services.ingest.errors import UnknownProductError
from shared.lookups import ServiceClient


class CatalogClient:
    def __init__(self, commerce_url: str) -> None:
        self._commerce = ServiceClient("commerce", commerce_url)

    async def close(self) -> None:
        await self._commerce.close()

    async def require_products(self, product_ids: list[str]) -> None:
        """Raise ``UnknownProductError`` naming the first id the catalog lacks."""
        for product_id in product_ids:
            not_found = UnknownProductError(
                f"product {product_id!r} is not in the catalog",
                field="products",
                value=product_id,
            )
            await self._commerce.get_resource("products", product_id, not_found)
