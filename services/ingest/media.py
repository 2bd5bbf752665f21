"""Identifying uploaded media by content, never by the declared type."""

import io
from dataclasses import dataclass
from typing import Literal

import av
from PIL import Image, UnidentifiedImageError

from services.ingest.errors import UnsupportedMediaError

# Decompression-bomb guard: a JPEG may claim huge dimensions in a few bytes.
MAX_PIXELS = 40_000_000
MAX_VIDEO_SECONDS = 180.0
# PyAV names the ISO base media family (MP4, MOV, 3GP) with one demuxer.
MP4_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"


@dataclass(frozen=True)
class InspectedMedia:
    kind: Literal["photo", "video"]
    content_type: str
    extension: str
    width: int
    height: int
    duration_seconds: float | None


def inspect_media(data: bytes, filename: str | None) -> InspectedMedia:
    """Identify ``data`` as a JPEG photo or an H.264 MP4 video, or raise."""
    photo = _inspect_jpeg(data)
    if photo is not None:
        return photo
    video = _inspect_mp4(data)
    if video is not None:
        return video
    raise UnsupportedMediaError(
        f"file {filename!r} is neither a JPEG image nor an MP4 video with H.264; "
        "upload one of those",
        field="media",
        value=filename,
    )


def _inspect_jpeg(data: bytes) -> InspectedMedia | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                return None
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnsupportedMediaError(
                    f"image is {width}x{height} pixels; the limit is {MAX_PIXELS}",
                    field="media",
                    value=f"{width}x{height}",
                )
            # load() decodes every scan, so a truncated or corrupt file fails here.
            image.load()
    except Image.DecompressionBombError as exc:
        # Pillow refuses to open images beyond twice its own pixel limit.
        raise UnsupportedMediaError(
            f"image is too large: {exc}; the limit is {MAX_PIXELS} pixels",
            field="media",
            value="too many pixels",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError):
        return None
    return InspectedMedia("photo", "image/jpeg", "jpg", width, height, None)


def _inspect_mp4(data: bytes) -> InspectedMedia | None:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.format.name != MP4_DEMUXER or not container.streams.video:
                return None
            stream = container.streams.video[0]
            # FFmpeg leaves codec_context unset for codecs it cannot decode.
            codec = stream.codec_context.name if stream.codec_context else None
            if codec != "h264":
                raise UnsupportedMediaError(
                    f"video codec is {codec or 'unknown'}; upload H.264",
                    field="media",
                    value=codec,
                )
            duration = _duration_seconds(container, stream)
            # Decoding one frame proves the stream is playable, not just labelled.
            next(container.decode(stream))
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.FFmpegError, StopIteration, ValueError):
        return None
    if width * height > MAX_PIXELS:
        raise UnsupportedMediaError(
            f"video is {width}x{height} pixels; the limit is {MAX_PIXELS}",
            field="media",
            value=f"{width}x{height}",
        )
    if duration > MAX_VIDEO_SECONDS:
        raise UnsupportedMediaError(
            f"video lasts {duration:.1f} s; the limit is {MAX_VIDEO_SECONDS:.0f} s",
            field="media",
            value=round(duration, 1),
        )
    return InspectedMedia("video", "video/mp4", "mp4", width, height, duration)


def _duration_seconds(
    container: av.container.InputContainer, stream: av.VideoStream
) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0
