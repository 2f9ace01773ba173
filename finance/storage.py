"""Attachment files: stored by SHA-256 under the upload folder (outside the web root), type checked from
the content, never from the name; large photos get a downscaled copy for display."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

DISPLAY_EDGE = 1600
TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
Image.MAX_IMAGE_PIXELS = 60_000_000  # refuse decompression bombs


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
        try:
            with Image.open(io.BytesIO(data)) as img:
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
            raise StorageError(_("图片文件已损坏，无法打开，请重新拍照。")) from None
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


def display_path(sha256: str, content_type: str) -> Path:
    """A JPEG no larger than DISPLAY_EDGE on its long edge, for showing a phone photo; the original
    stays as stored. PDFs and small images are served as they are."""
    original = path_for(sha256)
    if not content_type.startswith("image/"):
        return original
    cached = original.with_name(original.name + ".display.jpg")
    if cached.exists():
        return cached
    with Image.open(original) as img:
        if max(img.size) <= DISPLAY_EDGE:
            return original
        img.thumbnail((DISPLAY_EDGE, DISPLAY_EDGE))
        fd, tmp = tempfile.mkstemp(dir=original.parent)
        with os.fdopen(fd, "wb") as fh:
            img.convert("RGB").save(fh, "JPEG", quality=82)
        os.replace(tmp, cached)
    return cached
