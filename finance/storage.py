"""Attachment files: stored by SHA-256 under the upload folder (outside the web root), type checked from
the content, never from the name; large photos get a downscaled copy for display."""

from __future__ import annotations

import hashlib
import io
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

DISPLAY_EDGE = 1600
THUMB_EDGE = 360
TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
# Pillow's own alarm (a warning past it, an error past twice it). The app's cap, MAX_IMAGE_PIXELS in the
# config (default 40 MP), is lower and refuses at upload: a small compressed file can ask for a huge
# bitmap (a 455 KiB PNG of 100 MP cost a worker 0.9 GB when first shown).
Image.MAX_IMAGE_PIXELS = 60_000_000


class StorageError(ValueError):
    """A message for the user."""


@dataclass(frozen=True)
class Stored:
    sha256: str
    content_type: str
    size: int


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def digest(data: bytes) -> str:
    """The name a file is stored under: the hex SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def _root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def path_for(sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise StorageError("bad digest")
    return _root() / sha256[:2] / sha256


def save(data: bytes) -> Stored:
    """Check and store a file; returns its digest and detected type. Raises StorageError."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if not data:
        raise StorageError(_("文件是空的，请重新选择。"))
    if len(data) > limit:
        raise StorageError(_("文件超过 %(mb)s MB 上限，请压缩后重试。", mb=limit // (1024 * 1024)))
    content_type = sniff(data)
    if content_type is None:
        raise StorageError(_("只能上传 JPG、PNG、WEBP 图片或 PDF 文件。"))
    if content_type.startswith("image/"):
        _check_image(data)
    elif b"%%EOF" not in data[-2048:]:
        raise StorageError(_("PDF 文件不完整，请重新选择。"))
    sha = digest(data)
    target = path_for(sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return Stored(sha, content_type, len(data))


def pixel_cap() -> int:
    return int(current_app.config.get("MAX_IMAGE_PIXELS") or 40_000_000)


def _check_image(data: bytes) -> None:
    """Refuse a damaged image, and one whose bitmap would exceed the pixel cap, reading only its header
    (the size is known before a single pixel is decoded)."""
    damaged = _("图片文件已损坏，无法打开，请重新拍照。")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                if width * height <= pixel_cap():
                    img.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        width, height = pixel_cap() + 1, 1  # past Pillow's own alarm: far past the cap
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise StorageError(damaged) from None
    if width * height > pixel_cap():
        raise StorageError(_("图片像素太多（超过 %(cap)d 百万像素）。请在相机设置中调低分辨率，"
                             "或截图、压缩后再上传。", cap=pixel_cap() // 1_000_000))


def display_path(sha256: str, content_type: str) -> Path:
    """A JPEG no larger than DISPLAY_EDGE on its long edge, for showing a phone photo; the original
    stays as stored. PDFs and small images are served as they are."""
    return derived_image(sha256, content_type, DISPLAY_EDGE, ".display.jpg", quality=82, keep_small=True)


def thumbnail_path(sha256: str, content_type: str) -> Path:
    """A small JPEG for the detail page's thumbnails, made once next to the stored file."""
    return derived_image(sha256, content_type, THUMB_EDGE, ".thumb.jpg", quality=75, keep_small=False)


def derived_image(sha256: str, content_type: str, edge: int, suffix: str, *, quality: int,
                  keep_small: bool) -> Path:
    """A JPEG of at most `edge` pixels on its long edge, made once beside the original.

    The image is never decoded at full size when it need not be: a JPEG is decoded at 1/2 to 1/8 scale
    (`draft`), and the rest is shrunk by whole factors first (`reducing_gap`, Pillow's `reduce`). An
    image over the pixel cap (stored before the cap existed) is never decoded here: the original is
    served as it is."""
    original = path_for(sha256)
    if not content_type.startswith("image/"):
        return original
    cached = original.with_name(original.name + suffix)
    if cached.exists():
        return cached
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(original)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return original
    with img:
        if img.width * img.height > pixel_cap() or (keep_small and max(img.size) <= edge):
            return original
        scale = edge / max(img.size)
        img.draft("RGB", (math.ceil(img.width * scale), math.ceil(img.height * scale)))
        img.thumbnail((edge, edge), reducing_gap=2.0)
        fd, tmp = tempfile.mkstemp(dir=original.parent)
        with os.fdopen(fd, "wb") as fh:
            img.convert("RGB").save(fh, "JPEG", quality=quality)
        os.replace(tmp, cached)
    return cached
