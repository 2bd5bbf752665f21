"""Checks of the demo photos and videos, and of the demo accounts, products and posts.

The media are made from scikit-image's bundled sample photographs and decoded
again with Pillow and PyAV. The content checks run the demo products and posts
through the same validation that commerce and ingest apply to requests.
"""

import re
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from deploy.demo.content import (
    BRAND,
    CREATORS,
    INTERESTS,
    POSTS,
    PRODUCTS,
    SHOPPER,
    SHOPPER_INTERESTS,
    DemoPost,
    DemoProduct,
    find_user,
)
from deploy.demo.loader import product_request_body
from deploy.demo.media import (
    SAMPLE_IMAGES,
    VIDEO_FPS,
    VIDEO_WIDTH,
    load_rgb,
    video_size,
    write_jpeg,
    write_mp4,
)
from services.commerce.catalog import PRODUCT_ID_PATTERN, ProductIn
from services.ingest.posts import clean_caption, clean_interests, clean_product_ids
from shared.auth import Role

SAMPLE_NAMES = sorted(SAMPLE_IMAGES)
# Upper bound for one demo file; the largest, the Hubble JPEG, is about 190 KB.
MAX_MEDIA_BYTES = 400_000
# Mean absolute difference, in 8-bit levels, between the first and last frame.
MIN_PAN_DIFFERENCE = 5.0


def decode_frames(path: Path) -> list[npt.NDArray[np.int16]]:
    with av.open(str(path)) as container:
        return [
            frame.to_ndarray(format="rgb24").astype(np.int16)
            for frame in container.decode(video=0)
        ]


@pytest.mark.parametrize("image_name", SAMPLE_NAMES)
def test_sample_image_loads_as_rgb(image_name: str) -> None:
    pixels = load_rgb(image_name)

    assert pixels.dtype == np.uint8
    assert pixels.ndim == 3
    assert pixels.shape[2] == 3
    assert pixels.shape[0] >= 256
    assert pixels.shape[1] >= 256


@pytest.mark.parametrize("image_name", SAMPLE_NAMES)
def test_sample_image_catalog_entry(image_name: str) -> None:
    sample = SAMPLE_IMAGES[image_name]

    assert sample.name == image_name
    assert sample.title.strip()
    assert sample.interests
    assert set(sample.interests) <= set(INTERESTS)
    assert 0.0 <= sample.focus[0] <= 1.0
    assert 0.0 <= sample.focus[1] <= 1.0


@pytest.mark.parametrize("image_name", SAMPLE_NAMES)
def test_jpeg_opens_at_photo_size(image_name: str, tmp_path: Path) -> None:
    path = write_jpeg(image_name, tmp_path / "photo.jpg")
    height, width = load_rgb(image_name).shape[:2]

    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert image.mode == "RGB"
        assert image.size == (width, height)
        image.load()
    assert 0 < path.stat().st_size < MAX_MEDIA_BYTES


def test_jpeg_quality_changes_size(tmp_path: Path) -> None:
    low = write_jpeg("astronaut", tmp_path / "low.jpg", quality=30)
    high = write_jpeg("astronaut", tmp_path / "high.jpg", quality=95)

    assert low.stat().st_size < high.stat().st_size


@pytest.mark.parametrize("image_name", SAMPLE_NAMES)
def test_mp4_is_h264_with_expected_frames(image_name: str, tmp_path: Path) -> None:
    path = write_mp4(image_name, tmp_path / "video.mp4", seconds=2.0)
    width, height = video_size(image_name)

    with av.open(str(path)) as container:
        assert "mp4" in container.format.name
        assert len(container.streams) == 1
        assert len(container.streams.video) == 1
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.codec_context.width == width
        assert stream.codec_context.height == height
        assert stream.average_rate == VIDEO_FPS
        assert container.duration is not None
        duration = container.duration / av.time_base
    frames = decode_frames(path)

    assert width == VIDEO_WIDTH
    assert height % 2 == 0
    assert duration == pytest.approx(2.0, abs=1 / VIDEO_FPS)
    assert len(frames) == 2 * VIDEO_FPS
    assert 0 < path.stat().st_size < MAX_MEDIA_BYTES


@pytest.mark.parametrize("image_name", SAMPLE_NAMES)
def test_mp4_frames_differ(image_name: str, tmp_path: Path) -> None:
    frames = decode_frames(write_mp4(image_name, tmp_path / "video.mp4"))

    unchanged = [
        index
        for index, (before, after) in enumerate(pairwise(frames))
        if np.array_equal(before, after)
    ]
    assert unchanged == [], f"frames equal to the next one: {unchanged}"
    pan = float(np.abs(frames[0] - frames[-1]).mean())
    assert pan > MIN_PAN_DIFFERENCE


def test_mp4_length_follows_seconds(tmp_path: Path) -> None:
    path = write_mp4("coffee", tmp_path / "short.mp4", seconds=0.5, fps=12)

    with av.open(str(path)) as container:
        assert container.duration is not None
        duration = container.duration / av.time_base
    frames = decode_frames(path)

    assert duration == pytest.approx(0.5, abs=1 / 12)
    assert len(frames) == 6


def test_mp4_custom_width(tmp_path: Path) -> None:
    path = write_mp4("rocket", tmp_path / "narrow.mp4", seconds=0.25, width=240)

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.width == 240
        assert stream.codec_context.height == video_size("rocket", 240)[1]


@pytest.mark.parametrize(
    ("image_name", "seconds", "fps", "width", "message"),
    [
        ("lena", 2.0, 24, 480, "unknown sample image 'lena'"),
        ("coffee", 0.0, 24, 480, "video length 0.0 s is invalid"),
        ("coffee", 2.0, 0, 480, "frame rate 0 is invalid"),
        ("coffee", 2.0, 24, 481, "video width 481 is invalid"),
    ],
)
def test_mp4_rejects_invalid_arguments(
    image_name: str, seconds: float, fps: int, width: int, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "rejected.mp4"

    with pytest.raises(ValueError, match=re.escape(message)):
        write_mp4(image_name, path, seconds, fps=fps, width=width)
    assert not path.exists()


def test_jpeg_rejects_unknown_image(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="choose one of: astronaut"):
        write_jpeg("lena", tmp_path / "x.jpg")


def test_product_ids_unique() -> None:
    product_ids = [product.product_id for product in PRODUCTS]

    assert len(product_ids) == len(set(product_ids))


def test_post_keys_unique() -> None:
    keys = [post.key for post in POSTS]

    assert len(keys) == len(set(keys))


def test_accounts_have_expected_roles() -> None:
    user_ids = [user.user_id for user in (BRAND, *CREATORS, SHOPPER)]

    assert len(user_ids) == len(set(user_ids))
    assert BRAND.role is Role.BRAND
    assert SHOPPER.role is Role.SHOPPER
    assert len(CREATORS) == 3
    for creator in CREATORS:
        assert creator.role is Role.CREATOR
        assert find_user(creator.user_id) == creator


def test_find_user_rejects_unknown_id() -> None:
    with pytest.raises(ValueError, match="'creator-zoe' is not a demo account"):
        find_user("creator-zoe")


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda product: product.product_id)
def test_product_passes_commerce_validation(product: DemoProduct) -> None:
    body = product_request_body(product)
    validated = ProductIn.model_validate(body)

    assert re.fullmatch(PRODUCT_ID_PATTERN, body["product_id"])
    assert validated.brand_id == BRAND.user_id
    assert validated.currency == "EUR"
    assert validated.price_cents > 0
    assert validated.stock > 0
    assert validated.title.strip()
    assert validated.description.strip()


@pytest.mark.parametrize("post", POSTS, ids=lambda post: post.key)
def test_post_refers_to_demo_content(post: DemoPost) -> None:
    product_ids = {product.product_id for product in PRODUCTS}
    creator_ids = {creator.user_id for creator in CREATORS}

    assert post.creator_id in creator_ids
    assert 1 <= len(post.product_ids) <= 3
    assert set(post.product_ids) <= product_ids
    assert post.interests
    assert set(post.interests) <= set(INTERESTS)
    assert post.image_name in SAMPLE_IMAGES
    assert post.media_kind in ("photo", "video")


@pytest.mark.parametrize("post", POSTS, ids=lambda post: post.key)
def test_post_passes_ingest_validation(post: DemoPost) -> None:
    assert clean_caption(post.caption) == post.caption
    assert clean_interests(list(post.interests)) == list(post.interests)
    assert clean_product_ids(list(post.product_ids)) == list(post.product_ids)


def test_interests_are_lowercase() -> None:
    assert all(interest == interest.lower() for interest in INTERESTS)
    assert len(INTERESTS) == len(set(INTERESTS))


def test_posts_cover_both_media_kinds() -> None:
    kinds = {post.media_kind for post in POSTS}

    assert kinds == {"photo", "video"}


def test_every_creator_has_posts() -> None:
    authors = {post.creator_id for post in POSTS}

    assert authors == {creator.user_id for creator in CREATORS}


def test_shopper_interests_match_posts() -> None:
    assert set(SHOPPER_INTERESTS) <= set(INTERESTS)
    for interest in SHOPPER_INTERESTS:
        matching = [post.key for post in POSTS if interest in post.interests]
        assert matching, f"no demo post has the shopper's interest {interest!r}"
