"""The main job end to end, through the services' HTTP APIs on real servers.

Upload a post, see it in the interested shopper's feed only, like it twice
and see one like, buy its product once per Idempotency-Key. Delays from
upload to feed and from like to visible count are printed, not asserted.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

Check = Callable[[], Awaitable[Any]]


async def eventually(check: Check, timeout: float = 20.0) -> tuple[Any, float]:
    """Poll ``check`` until it returns a truthy value; return it and the wait."""
    started = time.perf_counter()
    deadline = started + timeout
    while True:
        result = await check()
        if result:
            return result, time.perf_counter() - started
        if time.perf_counter() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


class Client:
    """One user's view of Vitrine: a token and the service URLs."""

    def __init__(
        self, http: httpx.AsyncClient, urls: dict[str, str], token: str
    ) -> None:
        self.http = http
        self.urls = urls
        self.headers = {"Authorization": f"Bearer {token}"}

    async def call(
        self, method: str, service: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        url = self.urls[service] + path
        return await self.http.request(method, url, headers=headers, **kwargs)

    async def feed_ids(self) -> list[str]:
        response = await self.call("GET", "feed", "/feed?limit=50")
        assert response.status_code == 200, response.text
        return [item["post_id"] for item in response.json()["items"]]

    async def feed_item(self, post_id: str) -> dict[str, Any] | None:
        response = await self.call("GET", "feed", "/feed?limit=50")
        for item in response.json()["items"]:
            if item["post_id"] == post_id:
                return dict(item)
        return None


async def login(
    http: httpx.AsyncClient, urls: dict[str, str], user: str, role: str
) -> Client:
    response = await http.post(
        urls["feed"] + "/dev/tokens", json={"user_id": user, "role": role}
    )
    assert response.status_code == 200, response.text
    return Client(http, urls, response.json()["access_token"])


def assert_error(response: httpx.Response, status: int, field: str, value: Any) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["value"] == value


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient(timeout=30.0) as client:
        yield client


async def test_upload_like_buy_flow(
    http: httpx.AsyncClient,
    service_urls: dict[str, str],
    media_files: dict[str, Path],
    report: Callable[[str], None],
) -> None:
    run = uuid.uuid4().hex[:8]
    brand = await login(http, service_urls, f"brand-{run}", "brand")
    creator = await login(http, service_urls, f"creator-{run}", "creator")
    fan = await login(http, service_urls, f"fan-{run}", "shopper")
    other = await login(http, service_urls, f"other-{run}", "shopper")
    product_id = f"cat-tower-{run}"

    created = await brand.call(
        "POST",
        "commerce",
        "/products",
        json={
            "product_id": product_id,
            "title": "Cat tower",
            "price_cents": 4900,
            "stock": 10,
        },
    )
    assert created.status_code == 201, created.text
    for shopper, interests in ((fan, ["pets"]), (other, ["gaming"])):
        chosen = await shopper.call(
            "PUT", "feed", "/me/interests", json={"interests": interests}
        )
        assert chosen.status_code == 200, chosen.text

    # Upload: a real JPEG goes to the pets fan's feed and not the gamer's.
    uploaded_at = time.perf_counter()
    with media_files["jpeg"].open("rb") as photo:
        upload = await creator.call(
            "POST",
            "ingest",
            "/posts",
            files={"media": ("cat.jpg", photo, "application/octet-stream")},
            data={
                "caption": "Chelsea on her tower",
                "interests": ["pets"],
                "products": [product_id],
            },
        )
    assert upload.status_code == 201, upload.text
    post = upload.json()
    assert post["media"]["kind"] == "photo"
    assert post["creator_id"] == f"creator-{run}"

    async def in_fan_feed() -> bool:
        return post["post_id"] in await fan.feed_ids()

    await eventually(in_fan_feed)
    upload_delay_ms = (time.perf_counter() - uploaded_at) * 1000
    report(f"upload to visible in feed: {upload_delay_ms:.0f} ms")
    assert post["post_id"] not in await other.feed_ids()
    media = await http.get(post["media"]["url"])
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/jpeg"

    # Like twice and view once; the view is on the same partition after the
    # likes, so once it is counted both likes have been applied.
    liked_at = time.perf_counter()
    for _ in range(2):
        like = await fan.call("PUT", "engagement", f"/posts/{post['post_id']}/like")
        assert like.status_code == 202, like.text

    async def like_visible() -> dict[str, Any] | None:
        item = await fan.feed_item(post["post_id"])
        return item if item and item["likes"] >= 1 else None

    await eventually(like_visible)
    like_delay_ms = (time.perf_counter() - liked_at) * 1000
    report(f"like to visible count in feed: {like_delay_ms:.0f} ms")
    view = await fan.call(
        "POST", "engagement", f"/posts/{post['post_id']}/views", json={"watch_ms": 2400}
    )
    assert view.status_code == 202, view.text

    async def view_counted() -> dict[str, Any] | None:
        item = await fan.feed_item(post["post_id"])
        return item if item and item["views"] == 1 else None

    item, _ = await eventually(view_counted)
    assert item["likes"] == 1
    assert item["watch_ms"] == 2400

    # Buy from the post: once per Idempotency-Key, stock down, attributed.
    card = await fan.call("GET", "commerce", f"/products/{product_id}")
    assert card.json()["stock"] == 10
    order_body = {"product_id": product_id, "quantity": 2, "post_id": post["post_id"]}
    key = {"Idempotency-Key": f"order-{run}"}
    first = await fan.call("POST", "commerce", "/orders", json=order_body, headers=key)
    retry = await fan.call("POST", "commerce", "/orders", json=order_body, headers=key)
    assert first.status_code == 201, first.text
    assert retry.status_code == 200, retry.text
    order = first.json()
    assert retry.json()["order_id"] == order["order_id"]
    assert order["post_id"] == post["post_id"]
    assert order["creator_id"] == f"creator-{run}"
    assert order["total_cents"] == 9800
    orders = (await fan.call("GET", "commerce", "/orders")).json()["items"]
    assert [o["order_id"] for o in orders] == [order["order_id"]]
    card = await fan.call("GET", "commerce", f"/products/{product_id}")
    assert card.json()["stock"] == 8


async def test_video_upload_reaches_feed(
    http: httpx.AsyncClient, service_urls: dict[str, str], media_files: dict[str, Path]
) -> None:
    run = uuid.uuid4().hex[:8]
    brand = await login(http, service_urls, f"brand-{run}", "brand")
    creator = await login(http, service_urls, f"creator-{run}", "creator")
    fan = await login(http, service_urls, f"fan-{run}", "shopper")
    product_id = f"grinder-{run}"
    await brand.call(
        "POST",
        "commerce",
        "/products",
        json={
            "product_id": product_id,
            "title": "Grinder",
            "price_cents": 3900,
            "stock": 3,
        },
    )
    await fan.call(
        "PUT", "feed", "/me/interests", json={"interests": [f"coffee-{run}"]}
    )

    with media_files["mp4"].open("rb") as clip:
        upload = await creator.call(
            "POST",
            "ingest",
            "/posts",
            files={"media": ("coffee.mp4", clip, "video/mp4")},
            data={
                "caption": "Morning pour",
                "interests": [f"coffee-{run}"],
                "products": [product_id],
            },
        )

    assert upload.status_code == 201, upload.text
    post = upload.json()
    assert post["media"]["kind"] == "video"
    assert post["media"]["duration_seconds"] > 0

    async def in_feed() -> bool:
        return post["post_id"] in await fan.feed_ids()

    await eventually(in_feed)


async def test_bad_input_is_rejected_and_loses_nothing(
    http: httpx.AsyncClient, service_urls: dict[str, str], media_files: dict[str, Path]
) -> None:
    run = uuid.uuid4().hex[:8]
    brand = await login(http, service_urls, f"brand-{run}", "brand")
    creator = await login(http, service_urls, f"creator-{run}", "creator")
    shopper = await login(http, service_urls, f"shopper-{run}", "shopper")
    product_id = f"lamp-{run}"
    await brand.call(
        "POST",
        "commerce",
        "/products",
        json={
            "product_id": product_id,
            "title": "Lamp",
            "price_cents": 1500,
            "stock": 4,
        },
    )
    with media_files["jpeg"].open("rb") as photo:
        good = await creator.call(
            "POST",
            "ingest",
            "/posts",
            files={"media": ("lamp.jpg", photo)},
            data={"interests": ["home"], "products": [product_id]},
        )
    post_id = good.json()["post_id"]
    order = {"product_id": product_id, "quantity": 1, "post_id": post_id}
    placed = await shopper.call(
        "POST",
        "commerce",
        "/orders",
        json=order,
        headers={"Idempotency-Key": f"first-{run}"},
    )
    assert placed.status_code == 201

    not_media = await creator.call(
        "POST",
        "ingest",
        "/posts",
        files={"media": ("fake.jpg", b"GIF89a not really")},
        data={"interests": ["home"], "products": [product_id]},
    )
    assert_error(not_media, 422, "media", "fake.jpg")
    with media_files["jpeg"].open("rb") as photo:
        unknown_product = await creator.call(
            "POST",
            "ingest",
            "/posts",
            files={"media": ("lamp.jpg", photo)},
            data={"interests": ["home"], "products": [f"ghost-{run}"]},
        )
    assert_error(unknown_product, 422, "products", f"ghost-{run}")
    with media_files["jpeg"].open("rb") as photo:
        no_interests = await creator.call(
            "POST",
            "ingest",
            "/posts",
            files={"media": ("lamp.jpg", photo)},
            data={"products": [product_id]},
        )
    assert_error(no_interests, 422, "interests", [])
    unknown_post = await shopper.call("PUT", "engagement", f"/posts/ghost-{run}/like")
    assert_error(unknown_post, 404, "post_id", f"ghost-{run}")
    missing_interests = await shopper.call("PUT", "feed", "/me/interests", json={})
    assert_error(missing_interests, 422, "interests", None)
    for quantity in (0, -3):
        bad_quantity = await shopper.call(
            "POST",
            "commerce",
            "/orders",
            json={**order, "quantity": quantity},
            headers={"Idempotency-Key": f"qty-{quantity}-{run}"},
        )
        assert_error(bad_quantity, 422, "quantity", quantity)
    ghost_product = await shopper.call(
        "POST",
        "commerce",
        "/orders",
        json={"product_id": f"ghost-{run}", "quantity": 1},
        headers={"Idempotency-Key": f"ghost-{run}"},
    )
    assert_error(ghost_product, 404, "product_id", f"ghost-{run}")
    ghost_post = await shopper.call(
        "POST",
        "commerce",
        "/orders",
        json={**order, "post_id": f"ghost-{run}"},
        headers={"Idempotency-Key": f"ghostpost-{run}"},
    )
    assert_error(ghost_post, 404, "post_id", f"ghost-{run}")
    far_future = await shopper.call(
        "GET",
        "ingest",
        f"/creators/creator-{run}/posts",
        params={"before": "9999-12-31T23:59:59-10:00"},
    )
    assert_error(far_future, 422, "before", "9999-12-31T23:59:59-10:00")
    anonymous = await http.put(service_urls["engagement"] + f"/posts/{post_id}/like")
    assert anonymous.status_code == 401
    smuggled = await shopper.call("PUT", "engagement", f"/posts/{post_id}%3Fx/like")
    assert_error(smuggled, 422, "post_id", f"{post_id}?x")
    anonymous_upload = await http.post(
        service_urls["ingest"] + "/posts", files={"media": ("x.jpg", b"x" * 1000)}
    )
    assert anonymous_upload.status_code == 401
    shopper_upload = await shopper.call(
        "POST", "ingest", "/posts", files={"media": ("x.jpg", b"x" * 1000)}
    )
    assert_error(shopper_upload, 403, "role", "shopper")

    stored_post = await shopper.call("GET", "ingest", f"/posts/{post_id}")
    card = await shopper.call("GET", "commerce", f"/products/{product_id}")
    orders = (await shopper.call("GET", "commerce", "/orders")).json()["items"]
    assert stored_post.status_code == 200
    assert card.json()["stock"] == 3
    assert [o["order_id"] for o in orders] == [placed.json()["order_id"]]


async def test_concurrent_buys_never_oversell(
    http: httpx.AsyncClient, service_urls: dict[str, str]
) -> None:
    run = uuid.uuid4().hex[:8]
    brand = await login(http, service_urls, f"brand-{run}", "brand")
    shopper = await login(http, service_urls, f"shopper-{run}", "shopper")
    product_id = f"limited-{run}"
    await brand.call(
        "POST",
        "commerce",
        "/products",
        json={
            "product_id": product_id,
            "title": "Limited drop",
            "price_cents": 100,
            "stock": 5,
        },
    )

    responses = await asyncio.gather(
        *(
            shopper.call(
                "POST",
                "commerce",
                "/orders",
                json={"product_id": product_id, "quantity": 1},
                headers={"Idempotency-Key": f"drop-{index}-{run}"},
            )
            for index in range(12)
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 5
    assert statuses.count(409) == 7
    card = await shopper.call("GET", "commerce", f"/products/{product_id}")
    assert card.json()["stock"] == 0


async def test_concurrent_retries_place_one_order(
    http: httpx.AsyncClient, service_urls: dict[str, str]
) -> None:
    run = uuid.uuid4().hex[:8]
    brand = await login(http, service_urls, f"brand-{run}", "brand")
    shopper = await login(http, service_urls, f"shopper-{run}", "shopper")
    product_id = f"hoodie-{run}"
    await brand.call(
        "POST",
        "commerce",
        "/products",
        json={
            "product_id": product_id,
            "title": "Hoodie",
            "price_cents": 5900,
            "stock": 75,
        },
    )

    responses = await asyncio.gather(
        *(
            shopper.call(
                "POST",
                "commerce",
                "/orders",
                json={"product_id": product_id, "quantity": 2},
                headers={"Idempotency-Key": f"same-key-{run}"},
            )
            for _ in range(8)
        )
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 7 + [201]
    assert len({response.json()["order_id"] for response in responses}) == 1
    orders = (await shopper.call("GET", "commerce", "/orders")).json()["items"]
    assert len(orders) == 1
    card = await shopper.call("GET", "commerce", f"/products/{product_id}")
    assert card.json()["stock"] == 73


async def test_every_process_serves_health_and_metrics(
    http: httpx.AsyncClient, services: Any
) -> None:
    names = ("ingest", "feed", "engagement", "commerce", "engagement-worker")
    for name in names:
        health = await http.get(services.url(name) + "/healthz")
        metrics = await http.get(services.url(name) + "/metrics")

        assert health.status_code == 200, name
        assert metrics.status_code == 200, name
        assert metrics.headers["content-type"].startswith("text/plain"), name
        assert "# TYPE" in metrics.text, name
