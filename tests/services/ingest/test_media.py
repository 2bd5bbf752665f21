import io

import av
import numpy as np
import pytest
from PIL import Image

from deploy.demo.media import write_jpeg, write_mp4
from services.ingest.errors import UnsupportedMediaError
from services.ingest.media import inspect_media


@pytest.fixture(scope="module")
def jpeg_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("media") / "cat.jpg"
    return write_jpeg("chelsea", path).read_bytes()


@pytest.fixture(scope="module")
def mp4_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("media") / "coffee.mp4"
    return write_mp4("coffee", path, seconds=1.0).read_bytes()


def mpeg4_video() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for shade in range(12):
            pixels = np.full((48, 64, 3), shade * 20, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def test_jpeg_is_a_photo_with_its_size(jpeg_bytes: bytes) -> None:
    media = inspect_media(jpeg_bytes, "cat.jpg")

    assert media.kind == "photo"
    assert media.content_type == "image/jpeg"
    assert (media.width, media.height) == (451, 300)


def test_jpeg_named_mp4_is_still_a_photo(jpeg_bytes: bytes) -> None:
    assert inspect_media(jpeg_bytes, "clip.mp4").kind == "photo"


def test_h264_mp4_is_a_video_with_duration(mp4_bytes: bytes) -> None:
    media = inspect_media(mp4_bytes, "coffee.mp4")

    assert media.kind == "video"
    assert media.content_type == "video/mp4"
    assert media.width == 480
    assert media.duration_seconds == pytest.approx(1.0, abs=0.1)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("case", ["text", "empty", "png", "truncated jpeg"])
def test_non_media_is_rejected_naming_field(case: str, jpeg_bytes: bytes) -> None:
    data = {
        "text": b"this is not an image at all",
        "empty": b"",
        "png": png_bytes(),
        "truncated jpeg": jpeg_bytes[: len(jpeg_bytes) // 2],
    }[case]

    with pytest.raises(UnsupportedMediaError) as raised:
        inspect_media(data, f"{case}.jpg")

    assert raised.value.field == "media"
    assert raised.value.value == f"{case}.jpg"


def test_huge_jpeg_reports_pixel_limit(jpeg_bytes: bytes) -> None:
    # Rewrite the frame header (SOF0: marker, length, precision, height,
    # width) to claim 20000x20000 pixels; Pillow reads only the header.
    start = jpeg_bytes.index(b"\xff\xc0")
    size = (20000).to_bytes(2, "big") * 2
    huge = jpeg_bytes[: start + 5] + size + jpeg_bytes[start + 9 :]

    with pytest.raises(UnsupportedMediaError) as raised:
        inspect_media(huge, "huge.jpg")

    assert "too large" in raised.value.message
    assert raised.value.field == "media"


def test_mp4_with_undecodable_codec_is_rejected(mp4_bytes: bytes) -> None:
    unknown_codec = mp4_bytes.replace(b"avc1", b"zzzz")

    with pytest.raises(UnsupportedMediaError) as raised:
        inspect_media(unknown_codec, "odd.mp4")

    assert raised.value.field == "media"


def test_mp4_without_h264_names_codec() -> None:
    with pytest.raises(UnsupportedMediaError) as raised:
        inspect_media(mpeg4_video(), "old.mp4")

    assert raised.value.value == "mpeg4"
