"""The text printed after a demo load: what was loaded and what to try next."""

import json
import shlex

import httpx

from deploy.demo.content import POSTS, SHOPPER, SHOPPER_INTERESTS
from deploy.demo.loader import DemoLoadResult
from deploy.demo.services import ServiceUrls

# Prints the access_token field of the JSON response that curl pipes in.
READ_ACCESS_TOKEN = (
    "python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])'"
)
ORDER_IDEMPOTENCY_KEY = "demo-order-1"


def _curl_commands(urls: ServiceUrls, post_id: str, product_id: str) -> list[str]:
    """Return shell lines that get a shopper token, read the feed, like and buy."""
    token_body = json.dumps({"user_id": SHOPPER.user_id, "role": SHOPPER.role.value})
    order_body = json.dumps(
        {"product_id": product_id, "quantity": 1, "post_id": post_id}
    )
    authorization = '-H "Authorization: Bearer $TOKEN"'
    json_type = "-H 'Content-Type: application/json'"

    get_token = (
        f"TOKEN=$(curl -s -X POST {urls.commerce}/dev/tokens {json_type} "
        f"-d {shlex.quote(token_body)} | {READ_ACCESS_TOKEN})"
    )
    read_feed = f"curl -s {authorization} {shlex.quote(urls.feed + '/feed?limit=20')}"
    like = f"curl -s -X PUT {authorization} {urls.engagement}/posts/{post_id}/like"
    buy = (
        f"curl -s -X POST {authorization} "
        f"-H 'Idempotency-Key: {ORDER_IDEMPOTENCY_KEY}' {json_type} "
        f"-d {shlex.quote(order_body)} {urls.commerce}/orders"
    )
    return [get_token, read_feed, like, buy]


def format_summary(result: DemoLoadResult, urls: ServiceUrls) -> str:
    """Return the counts of a load, URLs to open and curl commands for the main flow.

    The examples use the first demo video post and the first product it tags.
    """
    video_key = next(post.key for post in POSTS if post.media_kind == "video")
    featured = result.posts[video_key]
    post_id = str(featured["post_id"])
    product_id = str(featured["product_ids"][0])
    # Ingest returns absolute media URLs. A relative one is joined to the ingest URL.
    media_url = str(httpx.URL(urls.ingest).join(str(featured["media"]["url"])))

    lines = [
        "Vitrine demo content is loaded.",
        (
            f"  products: {len(result.products_created)} created, "
            f"{len(result.products_existing)} already there"
        ),
        (
            f"  posts:    {len(result.posts_uploaded)} uploaded, "
            f"{len(result.posts_existing)} already there"
        ),
        f"  shopper:  {SHOPPER.user_id}, interests {', '.join(SHOPPER_INTERESTS)}",
        "",
        "Try these URLs:",
        f"  feed (needs a bearer token): {urls.feed}/feed?limit=20",
        f"  product card:                {urls.commerce}/products/{product_id}",
        f"  video of post {post_id}: {media_url}",
        "",
        f"Main flow with curl, as {SHOPPER.user_id}:",
        *(f"  {command}" for command in _curl_commands(urls, post_id, product_id)),
        "",
        "Stop everything with: make stop",
    ]
    return "\n".join(lines)
