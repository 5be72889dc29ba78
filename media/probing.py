"""Duration and dimensions of audio and video, read from container headers without decoding.

Only what the standard library can read cheaply: MP4/QuickTime/M4A (the `mvhd` and `tkhd`
boxes), WAV (the `wave` module) and Ogg (Opus or Vorbis granule positions). MP3, AAC and WebM
report null; reading them needs a demuxer such as ffprobe, a dependency we do not take on.
Probing never fails an upload: a damaged header just means unknown values.
"""

import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

# Enough for any sane file; bounds the work a crafted file of tiny boxes can cause.
_MAX_BOXES = 10_000
# Metadata boxes (user data, iTunes/Apple `meta` with location, XMP `uuid`) we blank out.
_METADATA_BOXES = {b"udta", b"meta", b"uuid"}
# Boxes made of boxes, searched for metadata boxes (ISO/IEC 14496-12); anything else is data.
_CONTAINER_BOXES = {
    *(b"moov", b"trak", b"edts", b"mdia", b"minf", b"dinf", b"stbl"),
    *(b"mvex", b"moof", b"traf", b"mfra", b"meco"),
}
_MAX_DEPTH = 6
_OGG_TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class MediaInfo:
    """What probing found; None where the container did not say."""

    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None


def media_probe(file: IO[bytes], *, size: int, content_type: str) -> MediaInfo:
    """Read what can be read cheaply for this (already detected) content type."""
    try:
        if content_type in {"video/mp4", "video/quicktime", "audio/mp4"}:
            return _mp4_probe(file, size)
        if content_type == "audio/wav":
            return _wav_probe(file)
        if content_type == "audio/ogg":
            return _ogg_probe(file, size)
    except Exception:  # noqa: BLE001, S110 - crafted headers make parsers raise anything; unknown is fine
        pass
    finally:
        file.seek(0)
    return MediaInfo()


def mp4_metadata_strip(file: IO[bytes], *, size: int) -> int:
    """Blank metadata boxes in place into zero-filled `free` boxes, which players skip. Returns how many.

    Phones record the capture location in `moov/udta` (©xyz) and `moov/meta`; overwriting those
    boxes with padding of the same size removes it without moving a byte, so the sample offsets in
    the rest of the file stay valid. Every container box on the way is searched (tracks, media,
    fragments: `moof/traf/meta` holds metadata too), to _MAX_DEPTH levels.
    """
    try:
        return _strip_boxes(file, 0, size, depth=0)
    except Exception:  # noqa: BLE001 - a damaged box tree ends the walk; what was blanked stays blanked
        return 0
    finally:
        file.seek(0)


def _strip_boxes(file: IO[bytes], start: int, end: int, *, depth: int) -> int:
    blanked = 0
    for box_type, box_start, header_size, box_size in list(_boxes(file, start, end)):
        if box_type in _METADATA_BOXES:
            blanked += _blank(file, box_start, header_size, box_size)
        elif box_type in _CONTAINER_BOXES and depth < _MAX_DEPTH:
            blanked += _strip_boxes(file, box_start + header_size, box_start + box_size, depth=depth + 1)
    return blanked


def _blank(file: IO[bytes], box_start: int, header_size: int, box_size: int) -> int:
    """Make the box a `free` box full of zeros: renamed alone, its bytes would still be readable."""
    file.seek(box_start + 4)
    file.write(b"free")
    file.seek(box_start + header_size)
    remaining = box_size - header_size
    while remaining > 0:
        step = min(remaining, 64 * 1024)
        file.write(b"\0" * step)
        remaining -= step
    return 1


def _boxes(file: IO[bytes], start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, start, header size, total size) of each ISO-BMFF box between start and end."""
    position = start
    for _ in range(_MAX_BOXES):
        if position + 8 > end:
            return
        file.seek(position)
        size, box_type = struct.unpack(">I4s", file.read(8))
        header_size = 8
        if size == 1:
            (size,) = struct.unpack(">Q", file.read(8))
            header_size = 16
        elif size == 0:
            size = end - position  # the box runs to the end of its parent
        if size < header_size or position + size > end:
            return  # damaged; stop rather than guess
        yield box_type, position, header_size, size
        position += size


def _child(file: IO[bytes], start: int, end: int, wanted: bytes) -> tuple[int, int] | None:
    """(payload start, payload end) of the first `wanted` box between start and end."""
    for box_type, box_start, header_size, box_size in _boxes(file, start, end):
        if box_type == wanted:
            return box_start + header_size, box_start + box_size
    return None


def _mp4_probe(file: IO[bytes], size: int) -> MediaInfo:
    moov = _child(file, 0, size, b"moov")
    if moov is None:
        return MediaInfo()
    duration = None
    mvhd = _child(file, *moov, b"mvhd")
    if mvhd is not None:
        file.seek(mvhd[0])
        version = file.read(4)[0]
        if version == 1:
            _created, _modified, timescale, length = struct.unpack(">QQIQ", file.read(28))
            unknown = length == 0xFFFFFFFFFFFFFFFF
        else:
            _created, _modified, timescale, length = struct.unpack(">IIII", file.read(16))
            unknown = length == 0xFFFFFFFF
        if timescale and length and not unknown:
            duration = round(length / timescale, 3)
    width = height = None
    for box_type, box_start, header_size, box_size in list(_boxes(file, *moov)):
        if box_type != b"trak":
            continue
        tkhd = _child(file, box_start + header_size, box_start + box_size, b"tkhd")
        if tkhd is None:
            continue
        file.seek(tkhd[0])
        version = file.read(4)[0]
        # Skip times, ids, layer, volume and the 3x3 matrix to the 16.16 fixed-point size.
        file.seek(tkhd[0] + 4 + (32 if version == 1 else 20) + 52)
        track_width, track_height = struct.unpack(">II", file.read(8))
        if track_width >> 16 and track_height >> 16:  # audio tracks are 0 x 0
            width, height = track_width >> 16, track_height >> 16
            break
    return MediaInfo(duration, width, height)


def _wav_probe(file: IO[bytes]) -> MediaInfo:
    with wave.open(file) as wav:
        rate = wav.getframerate()
        return MediaInfo(duration_seconds=round(wav.getnframes() / rate, 3) if rate else None)


def _ogg_probe(file: IO[bytes], size: int) -> MediaInfo:
    file.seek(0)
    page = file.read(27 + 255)
    if page[:4] != b"OggS":
        return MediaInfo()
    serial = page[14:18]
    segments = page[26]
    # The first page holds just the codec's identification header.
    file.seek(27 + segments)
    header = file.read(32)
    if header.startswith(b"OpusHead"):
        (pre_skip,) = struct.unpack("<H", header[10:12])
        rate, offset = 48_000, pre_skip  # Opus granules always count 48 kHz samples
    elif header.startswith(b"\x01vorbis"):
        (rate,) = struct.unpack("<I", header[12:16])
        offset = 0
    else:
        return MediaInfo()
    # The last page of the stream carries the total sample count as its granule position.
    tail_start = max(0, size - _OGG_TAIL_BYTES)
    file.seek(tail_start)
    tail = file.read(_OGG_TAIL_BYTES)
    position = tail.rfind(b"OggS")
    while position != -1:
        if tail[position + 14 : position + 18] == serial:
            (granule,) = struct.unpack("<q", tail[position + 6 : position + 14])
            if granule >= 0 and rate:
                return MediaInfo(duration_seconds=round(max(granule - offset, 0) / rate, 3))
            return MediaInfo()
        position = tail.rfind(b"OggS", 0, position)
    return MediaInfo()
