"""The base app's error shape, health check and metrics, in process."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel

from shared.api import create_app
from shared.auth import CurrentPrincipal
from shared.settings import Settings


class Item(BaseModel):
    quantity: int


def build(healthy: bool = True) -> FastAPI:
    async def check() -> None:
        if not healthy:
            raise ConnectionError("redis is down")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.health_checks = {"redis": check}
        yield

    app = create_app("test", Settings(dev_tokens_enabled=True), lifespan)

    async def create_item(principal: CurrentPrincipal, item: Item) -> dict[str, int]:
        return {"quantity": item.quantity}

    app.add_api_route("/items", create_item, methods=["POST"])
    return app


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


@pytest.fixture
async def client() -> AsyncIterator[AsyncClient]:
    async with serve(build()) as http:
        yield http


async def token(client: AsyncClient) -> dict[str, str]:
    issued = await client.post(
        "/dev/tokens", json={"user_id": "sam", "role": "shopper"}
    )
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


async def test_missing_token_names_header(client: AsyncClient) -> None:
    response = await client.post("/items", json={"quantity": 1})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["field"] == "Authorization"
    assert response.json()["error"]["value"] is None


async def test_invalid_json_names_body(client: AsyncClient) -> None:
    response = await client.post(
        "/items",
        content=b'{"quantity": ',
        headers={**(await token(client)), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body"
    assert "not valid JSON" in response.json()["error"]["message"]


async def test_bad_value_names_field_and_value(client: AsyncClient) -> None:
    response = await client.post(
        "/items", json={"quantity": "two"}, headers=await token(client)
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "quantity"
    assert response.json()["error"]["value"] == "two"


async def test_non_finite_number_is_echoed_as_text(client: AsyncClient) -> None:
    response = await client.post(
        "/items",
        content=b'{"quantity": NaN}',
        headers={**(await token(client)), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["value"] == "nan"


async def test_huge_value_is_cut_in_echo(client: AsyncClient) -> None:
    response = await client.post(
        "/items", json={"quantity": "9" * 100_000 + "x"}, headers=await token(client)
    )

    assert response.status_code == 422
    assert len(response.json()["error"]["value"]) == 200


async def test_unknown_route_names_path(client: AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "path"
    assert response.json()["error"]["value"] == "/nowhere"


async def test_wrong_method_names_method(client: AsyncClient) -> None:
    response = await client.delete("/items")

    assert response.status_code == 405
    assert response.json()["error"]["field"] == "method"
    assert response.json()["error"]["value"] == "DELETE"


async def test_metrics_served_without_redirect(client: AsyncClient) -> None:
    await client.get("/healthz")

    response = await client.get("/metrics", follow_redirects=False)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "vitrine_http_requests_total" in response.text


async def test_health_reports_failing_check() -> None:
    async with serve(build(healthy=False)) as unhealthy:
        response = await unhealthy.get("/healthz")

    assert response.status_code == 503
    assert "redis is down" in response.json()["failures"]["redis"]
