"""Load the demo content through the services' HTTP APIs.

Loading twice creates nothing new. Products have fixed ids, so commerce returns
409 for one that exists. Ingest assigns post ids, so the ids of uploaded demo
posts are kept in ``<state dir>/demo-posts.json``. A post is uploaded again only
when its id is missing there or ingest no longer has it.
"""

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from deploy.demo.content import (
    BRAND,
    POSTS,
    PRODUCTS,
    SHOPPER,
    SHOPPER_INTERESTS,
    DemoPost,
    DemoProduct,
    DemoUser,
    find_user,
)
from deploy.demo.media import write_jpeg, write_mp4
from deploy.demo.services import (
    DEFAULT_CONNECT_RETRY_SECONDS,
    MAX_BODY_IN_ERROR,
    SERVICE_URL_SETTINGS,
    DemoLoadError,
    ServiceClient,
    ServiceUrls,
    json_object,
)

logger = logging.getLogger(__name__)

POSTS_STATE_FILE = "demo-posts.json"
POSTS_STATE_VERSION = 1

CONTENT_TYPES = {"photo": "image/jpeg", "video": "video/mp4"}
FILE_EXTENSIONS = {"photo": ".jpg", "video": ".mp4"}


@dataclass
class DemoLoadResult:
    """Outcome of one demo load: the products and posts created or found existing."""

    products_created: list[str] = field(default_factory=list)
    products_existing: list[str] = field(default_factory=list)
    posts_uploaded: list[str] = field(default_factory=list)
    posts_existing: list[str] = field(default_factory=list)
    # Demo post key -> the post as ingest returns it.
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)


def _read_post_ids(path: Path) -> dict[str, str]:
    """Return demo post key -> post id from the state file, or {} if it is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise DemoLoadError(
            f"state file {path} is not valid JSON ({exc}); delete it to upload the "
            "demo posts again, which duplicates them if the services still have them"
        ) from exc

    posts = state.get("posts") if isinstance(state, dict) else None
    if not isinstance(posts, dict) or not all(
        isinstance(post_id, str) for post_id in posts.values()
    ):
        raise DemoLoadError(
            f"state file {path} has no 'posts' object of post ids; delete it to "
            "upload the demo posts again"
        )
    return {str(key): post_id for key, post_id in posts.items()}


def _write_post_ids(path: Path, post_ids: Mapping[str, str]) -> None:
    """Replace the state file atomically, so an interrupted write keeps the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"version": POSTS_STATE_VERSION, "posts": dict(sorted(post_ids.items()))}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


class DemoLoader:
    """Loader of the demo products, posts and shopper interests into the services."""

    def __init__(
        self,
        urls: ServiceUrls,
        state_dir: Path,
        *,
        connect_retry_seconds: float = DEFAULT_CONNECT_RETRY_SECONDS,
    ) -> None:
        self.urls = urls
        self.state_file = state_dir / POSTS_STATE_FILE
        self.clients = {
            service: ServiceClient(
                service, urls.of(service), connect_retry_seconds=connect_retry_seconds
            )
            for service in SERVICE_URL_SETTINGS
        }
        self._tokens: dict[str, str] = {}

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def load(self) -> DemoLoadResult:
        """Run every step of the demo load in order and return what it did."""
        result = DemoLoadResult()
        self.check_health()
        self.load_products(result)
        self.load_posts(result)
        self.set_shopper_interests()
        return result

    def check_health(self) -> None:
        """Raise DemoLoadError naming the first service whose /healthz is not 200."""
        for service, client in self.clients.items():
            client.request("GET", "/healthz", expected=[HTTPStatus.OK])
            logger.info("The %s service at %s is healthy", service, client.base_url)

    def token_for(self, user: DemoUser) -> str:
        """Return a development token for ``user``, requested once per loader."""
        if user.user_id in self._tokens:
            return self._tokens[user.user_id]

        commerce = self.clients["commerce"]
        response = commerce.request(
            "POST",
            "/dev/tokens",
            expected=[HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.NOT_FOUND],
            json={"user_id": user.user_id, "role": user.role.value},
        )
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise DemoLoadError(
                f"POST {commerce.base_url}/dev/tokens returned 404: the services "
                "issue development tokens only when started with "
                "VITRINE_DEV_TOKENS_ENABLED=true"
            )

        token = json_object(response, "commerce").get("access_token")
        if not isinstance(token, str) or not token:
            raise DemoLoadError(
                f"POST {commerce.base_url}/dev/tokens for {user.user_id!r} returned "
                "no access_token"
            )
        self._tokens[user.user_id] = token
        return token

    def load_products(self, result: DemoLoadResult) -> None:
        """Create each demo product as the brand; a 409 means it already exists."""
        token = self.token_for(BRAND)
        for product in PRODUCTS:
            response = self.clients["commerce"].request(
                "POST",
                "/products",
                expected=[HTTPStatus.CREATED, HTTPStatus.CONFLICT],
                token=token,
                json=product_request_body(product),
            )
            if response.status_code == HTTPStatus.CONFLICT:
                logger.info("Product %s already exists", product.product_id)
                result.products_existing.append(product.product_id)
            else:
                logger.info("Created product %s", product.product_id)
                result.products_created.append(product.product_id)

    def load_posts(self, result: DemoLoadResult) -> None:
        """Upload each demo post that ingest does not have yet, as its creator."""
        post_ids = _read_post_ids(self.state_file)
        for post in POSTS:
            stored = self._stored_post(post, post_ids.get(post.key))
            if stored is not None:
                result.posts_existing.append(post.key)
                result.posts[post.key] = stored
                continue

            uploaded = self.upload_post(post)
            post_ids[post.key] = str(uploaded["post_id"])
            # Written after every upload, so a failed run resumes where it stopped.
            _write_post_ids(self.state_file, post_ids)
            result.posts_uploaded.append(post.key)
            result.posts[post.key] = uploaded

    def _stored_post(
        self, post: DemoPost, post_id: str | None
    ) -> dict[str, Any] | None:
        """Return the post ingest stores under ``post_id``, or None if it has none."""
        if post_id is None:
            return None
        response = self.clients["ingest"].request(
            "GET",
            f"/posts/{post_id}",
            expected=[HTTPStatus.OK, HTTPStatus.NOT_FOUND],
        )
        if response.status_code == HTTPStatus.NOT_FOUND:
            logger.warning(
                "Demo post %s (post_id %s) from %s is not in ingest; uploading it "
                "again",
                post.key,
                post_id,
                self.state_file,
            )
            return None
        logger.info("Post %s already uploaded as %s", post.key, post_id)
        return json_object(response, "ingest")

    def upload_post(self, post: DemoPost) -> dict[str, Any]:
        """Make the post's media and upload it to ingest as the post's creator."""
        token = self.token_for(find_user(post.creator_id))
        filename = f"{post.key}{FILE_EXTENSIONS[post.media_kind]}"
        media = _make_media(post, filename)
        response = self.clients["ingest"].request(
            "POST",
            "/posts",
            expected=[HTTPStatus.CREATED],
            token=token,
            data={
                "caption": post.caption,
                "interests": list(post.interests),
                "products": list(post.product_ids),
            },
            files={"media": (filename, media, CONTENT_TYPES[post.media_kind])},
        )

        uploaded = json_object(response, "ingest")
        if not isinstance(uploaded.get("post_id"), str):
            raise DemoLoadError(
                f"POST {self.urls.ingest}/posts for {post.key!r} returned no post_id: "
                f"{json.dumps(uploaded)[:MAX_BODY_IN_ERROR]}"
            )
        logger.info(
            "Uploaded post %s as %s by %s",
            post.key,
            uploaded["post_id"],
            post.creator_id,
        )
        return uploaded

    def set_shopper_interests(self) -> None:
        """Set the demo shopper's interests so the feed has something to rank by."""
        self.clients["feed"].request(
            "PUT",
            "/me/interests",
            expected=[HTTPStatus.OK],
            token=self.token_for(SHOPPER),
            json={"interests": list(SHOPPER_INTERESTS)},
        )
        logger.info(
            "Set interests of %s to %s", SHOPPER.user_id, ", ".join(SHOPPER_INTERESTS)
        )


def product_request_body(product: DemoProduct) -> dict[str, Any]:
    """Return the JSON body of the commerce ``POST /products`` request."""
    return {
        "product_id": product.product_id,
        "title": product.title,
        "description": product.description,
        "price_cents": product.price_cents,
        "currency": product.currency,
        "stock": product.stock,
        "brand_id": product.brand_id,
        "category": product.category,
    }


def _make_media(post: DemoPost, filename: str) -> bytes:
    """Return the post's photo or video, made in a temporary directory.

    Bytes rather than an open file, so that a retried request sends the whole
    file again.
    """
    with tempfile.TemporaryDirectory(prefix="vitrine-demo-") as directory:
        path = Path(directory) / filename
        if post.media_kind == "video":
            write_mp4(post.image_name, path)
        else:
            write_jpeg(post.image_name, path)
        return path.read_bytes()


def load_demo(
    urls: ServiceUrls,
    state_dir: Path,
    *,
    connect_retry_seconds: float = DEFAULT_CONNECT_RETRY_SECONDS,
) -> DemoLoadResult:
    """Load the demo content into the services at ``urls``; safe to run again."""
    loader = DemoLoader(urls, state_dir, connect_retry_seconds=connect_retry_seconds)
    try:
        return loader.load()
    finally:
        loader.close()
