"""Perceptual hashes of invoice photos (ImageHash's pHash), to catch a re-photographed, rotated, cropped or
recompressed copy of an invoice already used.

The hash is taken of the page, not the photo: the image is turned upright by its EXIF orientation, made
grey, contrast-stretched and trimmed to the box of what is darker than the paper, so a crop of the
table's margin or a different zoom changes little. A quarter turn is caught by comparing the new photo's
four rotations with the stored hashes. Two photos are "the same page" when at most
`ControlRules.image_distance` of the 64 bits differ.

What it cannot do: tell apart two genuine invoices printed on one template (a petrol station's two
receipts of one week differ in a few digits, which a perceptual hash does not see). The typed facts tell
them apart: the check reports such a pair as a note, not a warning, when both carry different numbers
(finance.controls.checks).
"""

from __future__ import annotations

import io

import imagehash
from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

PAPER_LEVEL = 200  # after autocontrast, what is darker than this is ink, stamp or table lines
HASH_BITS = 64
BLANK_STDDEV = 6.0  # a page this even (a blank sheet, a lens cap) has no hash worth comparing


def _page(image: Image.Image) -> Image.Image:
    grey = ImageOps.exif_transpose(image).convert("L")
    grey.thumbnail((1024, 1024))  # hashing needs 32 x 32; a small copy makes trimming cheap
    grey = ImageOps.autocontrast(grey, cutoff=1)
    box = grey.point(lambda p: 255 if p < PAPER_LEVEL else 0).getbbox()
    return grey.crop(box) if box else grey


def _open(data: bytes) -> Image.Image | None:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    return image


def fingerprint(data: bytes) -> str | None:
    """The stored hash of an image (16 hex digits), or None for a PDF or an unreadable file."""
    image = _open(data)
    if image is None:
        return None
    page = _page(image)
    if ImageStat.Stat(page).stddev[0] < BLANK_STDDEV:
        return None
    return str(imagehash.phash(page))


def rotations(data: bytes) -> list[str]:
    """The hashes of an image's page turned by 0, 90, 180 and 270 degrees (empty for a non-image)."""
    image = _open(data)
    if image is None:
        return []
    page = _page(image)
    return [str(imagehash.phash(page.rotate(angle, expand=True))) for angle in (0, 90, 180, 270)]


def distance(a: str, b: str) -> int:
    """Bits that differ between two stored hashes."""
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def nearest(candidates: list[str], stored: str) -> int:
    """The smallest distance between any rotation of the new image and a stored hash."""
    return min((distance(c, stored) for c in candidates), default=HASH_BITS)
