"""Counters and timelines stay exact when a consumer dies and restarts."""

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from deploy.local import ServiceSet
from tests.e2e.test_flow import Client, eventually, login

pytestmark = pytest.mark.e2e


async def stats(client: Client, post_id: str) -> dict[str, int]:
    response = await client.call("GET", "engagement", f"/posts/{post_id}/stats")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_counts_exact_after_worker_killed(
    services: ServiceSet, service_urls: dict[str, str], media_files: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(timeout=30.0) as http:
        brand = await login(http, service_urls, f"brand-{run}", "brand")
        creator = await login(http, service_urls, f"creator-{run}", "creator")
        fans = [
            await login(http, service_urls, f"fan{i}-{run}", "shopper")
            for i in range(6)
        ]
        product_id = f"bowl-{run}"
        await brand.call(
            "POST",
            "commerce",
            "/products",
            json={
                "product_id": product_id,
                "title": "Bowl",
                "price_cents": 800,
                "stock": 9,
            },
        )
        with media_files["jpeg"].open("rb") as photo:  # type: ignore[index]
            upload = await creator.call(
                "POST",
                "ingest",
                "/posts",
                files={"media": ("cat.jpg", photo)},
                data={"interests": ["pets"], "products": [product_id]},
            )
        post_id = upload.json()["post_id"]

        for fan in fans[:5]:
            await fan.call("PUT", "engagement", f"/posts/{post_id}/like")
        for fan in fans[:3]:
            await fan.call(
                "POST", "engagement", f"/posts/{post_id}/views", json={"watch_ms": 100}
            )

        async def first_round_counted() -> bool:
            current = await stats(fans[0], post_id)
            return current["likes"] == 5 and current["views"] == 3

        await eventually(first_round_counted)

        worker = services.processes["engagement-worker"]
        pid = worker.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while worker.is_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not worker.is_running()

        # While the worker is down: two repeated likes, one new like, two views.
        for fan in (fans[0], fans[1], fans[5]):
            await fan.call("PUT", "engagement", f"/posts/{post_id}/like")
        for fan in fans[3:5]:
            await fan.call(
                "POST", "engagement", f"/posts/{post_id}/views", json={"watch_ms": 100}
            )
        services.start_one("engagement-worker")

        async def second_round_counted() -> dict[str, int] | None:
            current = await stats(fans[0], post_id)
            return current if current["views"] >= 5 else None

        try:
            current, _ = await eventually(second_round_counted, timeout=60)
        except AssertionError as exc:
            log_tail = worker.log_path.read_text(errors="replace")[-4000:]
            raise AssertionError(f"{exc}; worker log ends with:\n{log_tail}") from exc

    assert current["likes"] == 6
    assert current["views"] == 5
    assert current["watch_ms"] == 500
