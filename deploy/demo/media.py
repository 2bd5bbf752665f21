"""Demo photos and videos made from the sample photographs inside scikit-image.

The images below ship in the scikit-image 0.26.0 wheel (``skimage/data``), so
loading them needs no network access. Other ``skimage.data`` images are fetched
with pooch on first use and are left out on purpose.

Videos are H.264 (``libx264``, bundled in the PyAV 18.1.0 wheel) in MP4, with
a slow pan and zoom over the photo so that consecutive frames differ.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import av
import numpy as np
import numpy.typing as npt
from PIL import Image
from skimage import data as skimage_data

logger = logging.getLogger(__name__)

RgbArray = npt.NDArray[np.uint8]

JPEG_QUALITY = 85
VIDEO_CODEC: Final = "libx264"
VIDEO_PIXEL_FORMAT = "yuv420p"
VIDEO_FPS = 24
VIDEO_WIDTH = 480
# Constant rate factor of x264 (its default): lower is sharper and larger. With
# PyAV 18.1.0, a 2 s clip 480 px wide is 40 to 100 KB for the images below.
VIDEO_CRF = 23
# The box that frames the last video frame, as a fraction of the first one.
KEN_BURNS_END_SCALE = 0.78


def _stereo_motorcycle_left() -> RgbArray:
    # scikit-image 0.26.0 has no type annotations on this loader.
    loaded = skimage_data.stereo_motorcycle()  # type: ignore[no-untyped-call]
    left, _right, _disparity = loaded
    return np.asarray(left, dtype=np.uint8)


@dataclass(frozen=True)
class SampleImage:
    """A photograph bundled with scikit-image, described for the demo feed."""

    name: str
    title: str
    interests: tuple[str, ...]
    load: Callable[[], npt.NDArray[np.generic]]
    # Point the video zooms towards, as (x, y) fractions of width and height.
    focus: tuple[float, float] = (0.5, 0.5)


SAMPLE_IMAGES: dict[str, SampleImage] = {
    image.name: image
    for image in (
        SampleImage(
            "astronaut",
            "Astronaut Eileen Collins in her flight suit",
            ("space", "fashion"),
            skimage_data.astronaut,
            focus=(0.45, 0.3),
        ),
        SampleImage(
            "coffee",
            "A cup of coffee on a saucer",
            ("coffee", "home"),
            skimage_data.coffee,
            focus=(0.5, 0.4),
        ),
        SampleImage(
            "chelsea",
            "Chelsea the cat",
            ("pets", "home"),
            skimage_data.chelsea,
            focus=(0.4, 0.5),
        ),
        SampleImage(
            "rocket",
            "A rocket on the launch pad",
            ("space", "tech"),
            skimage_data.rocket,
            focus=(0.5, 0.35),
        ),
        SampleImage(
            "hubble_deep_field",
            "Galaxies in the Hubble eXtreme Deep Field",
            ("space", "gaming"),
            skimage_data.hubble_deep_field,
        ),
        SampleImage(
            "camera",
            "A photographer with a tripod-mounted camera outdoors",
            ("tech", "outdoors"),
            skimage_data.camera,
            focus=(0.4, 0.35),
        ),
        SampleImage(
            "motorcycle",
            "A motorcycle, from the Middlebury stereo dataset",
            ("outdoors", "tech"),
            _stereo_motorcycle_left,
        ),
    )
}


def _sample_image(image_name: str) -> SampleImage:
    try:
        return SAMPLE_IMAGES[image_name]
    except KeyError:
        known = ", ".join(sorted(SAMPLE_IMAGES))
        raise ValueError(
            f"unknown sample image {image_name!r}; choose one of: {known}"
        ) from None


def load_rgb(image_name: str) -> RgbArray:
    """Load a sample image as an (height, width, 3) uint8 RGB array.

    Greyscale images are repeated over three channels and an alpha channel is
    dropped, so every sample image can become a JPEG or a yuv420p video.
    """
    pixels = np.asarray(_sample_image(image_name).load())
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    if pixels.dtype != np.uint8:
        raise ValueError(
            f"sample image {image_name!r} has dtype {pixels.dtype}; expected uint8"
        )

    if pixels.ndim == 2:
        pixels = np.stack([pixels, pixels, pixels], axis=-1)
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, :3]
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(
            f"sample image {image_name!r} has shape {pixels.shape}; "
            "expected (height, width) or (height, width, 3 or 4)"
        )
    return np.ascontiguousarray(pixels)


def write_jpeg(image_name: str, path: Path, *, quality: int = JPEG_QUALITY) -> Path:
    """Write a sample image at its original size as an RGB JPEG to ``path``."""
    if not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality {quality} is invalid; use 1 to 95")

    image = Image.fromarray(load_rgb(image_name), mode="RGB")
    image.save(path, format="JPEG", quality=quality, optimize=True)
    logger.debug("Wrote JPEG of %s to %s", image_name, path)
    return path


def video_size(image_name: str, width: int = VIDEO_WIDTH) -> tuple[int, int]:
    """Return the (width, height) of the video ``write_mp4`` makes.

    The height keeps the photo's aspect ratio and is rounded to an even number
    because yuv420p stores colour at half resolution in both directions.
    """
    if width < 16 or width % 2:
        raise ValueError(f"video width {width} is invalid; use an even number >= 16")

    photo_height, photo_width = load_rgb(image_name).shape[:2]
    height = max(2, round(width * photo_height / photo_width / 2) * 2)
    return width, height


def _ken_burns_boxes(
    photo_size: tuple[int, int],
    frame_size: tuple[int, int],
    focus: tuple[float, float],
    frame_count: int,
) -> list[tuple[float, float, float, float]]:
    """Return one crop box per frame that zooms from the whole photo to ``focus``.

    Every box has the aspect ratio of the frame and lies inside the photo.
    """
    photo_width, photo_height = photo_size
    frame_width, frame_height = frame_size
    frame_aspect = frame_width / frame_height

    # The largest box of the frame's aspect ratio that fits the photo.
    start_width = min(photo_width, photo_height * frame_aspect)
    start_height = start_width / frame_aspect

    boxes = []
    for index in range(frame_count):
        progress = index / max(1, frame_count - 1)
        # Smoothstep, so the motion eases in and out instead of jerking.
        eased = progress * progress * (3 - 2 * progress)

        scale = 1 + (KEN_BURNS_END_SCALE - 1) * eased
        box_width = start_width * scale
        box_height = start_height * scale

        centre_x = photo_width * (0.5 + (focus[0] - 0.5) * eased)
        centre_y = photo_height * (0.5 + (focus[1] - 0.5) * eased)
        left = min(max(centre_x - box_width / 2, 0.0), photo_width - box_width)
        top = min(max(centre_y - box_height / 2, 0.0), photo_height - box_height)
        boxes.append((left, top, left + box_width, top + box_height))
    return boxes


def write_mp4(
    image_name: str,
    path: Path,
    seconds: float = 2.0,
    *,
    fps: int = VIDEO_FPS,
    width: int = VIDEO_WIDTH,
) -> Path:
    """Encode a pan and zoom over a sample image as an H.264 MP4 at ``path``.

    The video has ``round(seconds * fps)`` frames, no audio, and the size that
    ``video_size`` returns.

    NOTE: the frames fed to the encoder are identical on every call, but the
    file's bytes can differ between calls: x264 in the PyAV 18.1.0 wheel made
    different (equally good) encoding choices for the same input, even with
    one thread. Compare decoded properties, not file hashes.
    """
    if seconds <= 0:
        raise ValueError(f"video length {seconds} s is invalid; use more than 0")
    if fps <= 0:
        raise ValueError(f"frame rate {fps} is invalid; use more than 0")
    frame_count = max(1, round(seconds * fps))

    sample = _sample_image(image_name)
    photo = Image.fromarray(load_rgb(image_name), mode="RGB")
    frame_width, frame_height = video_size(image_name, width)
    boxes = _ken_burns_boxes(
        photo.size, (frame_width, frame_height), sample.focus, frame_count
    )

    # faststart moves the index to the front so browsers can play while loading.
    with av.open(
        str(path), mode="w", format="mp4", options={"movflags": "+faststart"}
    ) as container:
        stream = container.add_stream(
            VIDEO_CODEC,
            rate=Fraction(fps),
            options={"crf": str(VIDEO_CRF), "preset": "veryfast"},
        )
        stream.width = frame_width
        stream.height = frame_height
        stream.pix_fmt = VIDEO_PIXEL_FORMAT

        for index, box in enumerate(boxes):
            frame_image = photo.resize(
                (frame_width, frame_height), Image.Resampling.BILINEAR, box=box
            )
            frame = av.VideoFrame.from_ndarray(np.asarray(frame_image), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    logger.debug(
        "Wrote MP4 of %s to %s: %d frames of %dx%d",
        image_name,
        path,
        frame_count,
        frame_width,
        frame_height,
    )
    return path
