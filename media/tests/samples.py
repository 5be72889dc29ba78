"""Small but real files of every allowed type, built in memory for the tests."""

import io
import struct
import wave
import zlib

from PIL import Image

GPS_LATITUDE = ((52, 1), (31, 1), (12, 1))


def image_bytes(
    pillow_format: str = "JPEG", *, size: tuple[int, int] = (64, 48), color=(200, 30, 30), **save_options
) -> bytes:
    mode = "RGBA" if pillow_format in {"PNG", "WEBP"} else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=pillow_format, **save_options)
    return out.getvalue()


def jpeg_with_gps(size: tuple[int, int] = (80, 60)) -> bytes:
    """A JPEG whose EXIF carries a GPS position, a camera serial and a comment."""
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 0.0)
    return image_bytes("JPEG", size=size, exif=exif, comment=b"taken at home")


def animated_gif(frames: int = 3, size: tuple[int, int] = (20, 10)) -> bytes:
    colors = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", size, colors[index % len(colors)]) for index in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (never decoded by a careful reader)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    data = zlib.compress(row * 16)  # a few rows; the rest is "missing"
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def wav_bytes(seconds: float = 1.5, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x00" * int(seconds * rate))
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(
    *,
    major_brand: bytes = b"isom",
    compatible_brands: bytes = b"isommp42",
    duration_ms: int = 2500,
    width: int = 640,
    height: int = 360,
    location: bytes = b"+52.5200+013.4050/",
) -> bytes:
    """ftyp + moov (mvhd, a video trak with tkhd, udta with a ©xyz location) + mdat."""
    ftyp = _box(b"ftyp", major_brand + struct.pack(">I", 0x200) + compatible_brands)
    mvhd = _box(b"mvhd", b"\x00\x00\x00\x00" + struct.pack(">IIII", 0, 0, 1000, duration_ms) + b"\x00" * 80)
    tkhd = _box(
        b"tkhd",
        b"\x00\x00\x00\x03"
        + struct.pack(">IIIII", 0, 0, 1, 0, duration_ms)
        + b"\x00" * 52
        + struct.pack(">II", width << 16, height << 16),
    )
    trak = _box(b"trak", tkhd)
    udta = _box(b"udta", _box(b"\xa9xyz", struct.pack(">HH", len(location), 0) + location))
    moov = _box(b"moov", mvhd + trak + udta)
    return ftyp + moov + _box(b"mdat", b"\x00" * 64)


def _ogg_page(payload: bytes, *, granule: int, header_type: int, sequence: int, serial: int = 0x1234) -> bytes:
    header = b"OggS" + struct.pack("<BBqIIIB", 0, header_type, granule, serial, sequence, 0, 1)
    return header + bytes([len(payload)]) + payload


def ogg_opus_bytes(seconds: float = 3.0, pre_skip: int = 312) -> bytes:
    opus_head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 0) + struct.pack("<I", 0)
    return (
        _ogg_page(opus_head, granule=0, header_type=2, sequence=0)
        + _ogg_page(tags, granule=0, header_type=0, sequence=1)
        + _ogg_page(b"\x00" * 40, granule=int(seconds * 48000) + pre_skip, header_type=4, sequence=2)
    )


def webm_bytes() -> bytes:
    # EBML header with DocType "webm"; enough for magic-byte detection.
    return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 64


def mp3_bytes() -> bytes:
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
    return b"ID3\x03\x00\x00\x00\x00\x00\x00" + frame * 4


def aac_bytes() -> bytes:
    return b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 64  # ADTS header


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )


def elf_bytes() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
