"""Perceptual hashes of invoice photos (ImageHash's pHash), to catch a re-photographed, rotated, cropped or
recompressed copy of an invoice already used.

The hash is taken of the page, not the photo: the image is turned upright by its EXIF orientation, made
grey, contrast-stretched and trimmed to the box of what is darker than the paper, so a crop of the
table's margin or a different zoom changes little. A quarter turn is caught by comparing the new photo's
four rotations with the stored hashes. Two photos are "the same page" when at most
`ControlRules.image_distance` of the 64 bits differ.

A perceptual hash cannot tell apart two genuine invoices printed on one template (a petrol station's two
receipts of one week differ in a few digits). So a pair whose hashes match is looked at once more
(`different_content`): both pages are turned alike, scaled to one size, blurred a little and compared
block by block. Two copies of one page differ evenly (noise, a slight tilt or crop: every block a little,
or all blocks alike); two invoices on one template agree almost everywhere and differ sharply in a few
blocks (the number, the date, the QR code). The check reports the latter as a note, not a warning.
"""

from __future__ import annotations

import io

import imagehash
from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

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


def best_turn(candidates: list[str], stored: str) -> int:
    """Which of `rotations`' four turns of the new image is nearest the stored hash (0..3)."""
    return min(range(len(candidates)), key=lambda i: distance(candidates[i], stored)) if candidates else 0


COMPARE_SIZE = (960, 640)
COMPARE_GRID = 16
ALIGNED_MEDIAN = 3.0  # mean grey difference of the median block when the two pages lie exactly alike
LOCAL_CHANGE = 15.0  # a block this different holds other ink (digits, a QR code)


def different_content(new: bytes, old: bytes, turn: int = 0) -> bool:
    """Do two pages whose hashes match carry different content on one layout (two invoices on one
    template) rather than being two pictures of one page? False when either cannot be read."""
    a, b = _open(new), _open(old)
    if a is None or b is None:
        return False
    first = _page(a).rotate(90 * turn, expand=True).resize(COMPARE_SIZE).filter(ImageFilter.GaussianBlur(1))
    second = _page(b).resize(COMPARE_SIZE).filter(ImageFilter.GaussianBlur(1))
    diff = ImageChops.difference(first, second)
    w, h = diff.size
    n = COMPARE_GRID
    means = sorted(ImageStat.Stat(diff.crop((i * w // n, j * h // n, (i + 1) * w // n, (j + 1) * h // n))).mean[0]
                   for i in range(n) for j in range(n))
    return means[len(means) // 2] < ALIGNED_MEDIAN and means[-1] > LOCAL_CHANGE


def distance(a: str, b: str) -> int:
    """Bits that differ between two stored hashes."""
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def nearest(candidates: list[str], stored: str) -> int:
    """The smallest distance between any rotation of the new image and a stored hash."""
    return min((distance(c, stored) for c in candidates), default=HASH_BITS)
