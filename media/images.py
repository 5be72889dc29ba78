"""Decoding, cleaning and thumbnailing uploaded images with Pillow.

Every image is decoded and encoded again from its pixels, so nothing from the original file
survives except what we copy on purpose (pixels and frame timings): EXIF with GPS position and
camera serials, XMP, comments, colour profiles, extra pictures and any trailing bytes are
dropped. A colour profile is applied to the pixels first (they are stored in sRGB): a profile is
free-form bytes of any length (device names, or a whole file hidden in it), so none is kept.
"""

import io
import warnings
from dataclasses import dataclass
from typing import IO, Any

from PIL import Image, ImageCms, ImageOps, ImageSequence

from media import errors
from media.filetypes import AllowedType
from messenger.errors import ApplicationError

THUMBNAIL_CONTENT_TYPE = "image/webp"
THUMBNAIL_EXTENSION = ".webp"
_QUALITY = 90
_THUMBNAIL_QUALITY = 80
# Frame duration (ms) for animation frames that carry none.
_DEFAULT_FRAME_MS = 100
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class CleanImage:
    """A re-encoded image and its thumbnail."""

    content: bytes
    width: int
    height: int
    thumbnail: bytes


def image_clean(file: IO[bytes], *, allowed: AllowedType, max_pixels: int, thumbnail_side: int) -> CleanImage:
    """Decode `file`, re-encode it without metadata in its own format and make a WebP thumbnail."""
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice that; a bomb is a bomb either way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(file, formats=[allowed.pillow_format]) as image:
                # A JPEG holding several pictures (MPO: phones add depth maps and previews, each
                # with its own EXIF) keeps its first; only animations keep every frame.
                frame_count = 1 if allowed.pillow_format == "JPEG" else getattr(image, "n_frames", 1)
                # Checked on the header, before any pixel is decoded.
                if image.width * image.height * frame_count > max_pixels:
                    raise _too_large(image.width, image.height, frame_count, max_pixels)
                if frame_count > 1:
                    return _clean_animation(image, allowed.pillow_format, thumbnail_side)
                return _clean_still(image, allowed.pillow_format, thumbnail_side)
        except ApplicationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ApplicationError(
                "The image has too many pixels.",
                code=errors.IMAGE_TOO_LARGE,
                details={"max_pixels": max_pixels},
            ) from exc
        except Exception as exc:  # on crafted input Pillow raises almost anything
            raise ApplicationError("The image is damaged or incomplete.", code=errors.INVALID_FILE) from exc


def _too_large(width: int, height: int, frames: int, max_pixels: int) -> ApplicationError:
    return ApplicationError(
        "The image has too many pixels.",
        code=errors.IMAGE_TOO_LARGE,
        details={"width": width, "height": height, "frames": frames, "max_pixels": max_pixels},
    )


def _clean_still(image: Image.Image, pillow_format: str, thumbnail_side: int) -> CleanImage:
    icc_profile = image.info.get("icc_profile")
    # Turn the pixels upright first: the orientation tag goes away with the rest of EXIF.
    picture = _in_srgb(ImageOps.exif_transpose(image), icc_profile)
    picture = _without_metadata(_storable_mode(picture, pillow_format))
    content = _encode(picture, pillow_format)
    return CleanImage(content, picture.width, picture.height, _thumbnail(picture, thumbnail_side))


def _in_srgb(picture: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """The pixels converted from their embedded colour profile to sRGB, so the profile can go.

    A profile that does not parse, or does not fit the pixels' mode, is dropped without converting.
    """
    if not icc_profile or picture.mode not in {"RGB", "RGBA", "CMYK"}:
        return picture
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(picture, source, _SRGB, outputMode="RGBA" if picture.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return picture


def _clean_animation(image: Image.Image, pillow_format: str, thumbnail_side: int) -> CleanImage:
    frames: list[Image.Image] = []
    durations: list[int] = []
    for frame in ImageSequence.Iterator(image):
        # Pillow hands out each frame fully composited; RGBA keeps transparency without palettes.
        frames.append(_without_metadata(frame.convert("RGBA")))
        durations.append(int(frame.info.get("duration") or _DEFAULT_FRAME_MS))
    options: dict[str, Any] = {
        "save_all": True,
        "append_images": frames[1:],
        "duration": durations,
        "loop": int(image.info.get("loop", 0)),
    }
    if pillow_format == "GIF":
        options["disposal"] = 2  # full frames: clear before drawing the next one
    content = _encode(frames[0], pillow_format, **options)
    first = frames[0]
    return CleanImage(content, first.width, first.height, _thumbnail(first, thumbnail_side))


def _storable_mode(picture: Image.Image, pillow_format: str) -> Image.Image:
    if "transparency" in picture.info:
        # Palette transparency lives in `info`, which is about to be emptied.
        picture = picture.convert("RGBA")
    if pillow_format == "JPEG" and picture.mode not in {"L", "RGB"}:
        picture = picture.convert("RGB")
    return picture


def _without_metadata(picture: Image.Image) -> Image.Image:
    # Some encoders (JPEG and GIF comments, PNG's ICC) read im.info; start from nothing.
    picture.info = {}
    return picture


def _encode(picture: Image.Image, pillow_format: str, **options: Any) -> bytes:
    if pillow_format in {"JPEG", "WEBP"}:
        options.setdefault("quality", _QUALITY)
    out = io.BytesIO()
    picture.save(out, format=pillow_format, **options)
    return out.getvalue()


def _thumbnail(picture: Image.Image, side: int) -> bytes:
    has_alpha = picture.mode in {"RGBA", "LA", "PA"}
    thumbnail = picture.convert("RGBA" if has_alpha else "RGB")
    thumbnail.thumbnail((side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    thumbnail.save(out, format="WEBP", quality=_THUMBNAIL_QUALITY)
    return out.getvalue()
