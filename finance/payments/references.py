"""Bank references (银行流水号): one normal form, so that one transfer settles one request.

`PRB1`, `prb1`, `PRB 1`, `ＰＲＢ１` (full width) and `PRB-1` name the same transfer. The reference is
normalised (NFKC, upper case, whitespace and separators removed) before it is checked and stored, and
the unique index is on the normalised value (`payment.reference_key`)."""

from __future__ import annotations

import re
import unicodedata

from flask_babel import gettext as _

MAX_REFERENCE = 64
_ALLOWED = re.compile(r"[A-Z0-9]+")


def normalise_reference(text: str | None) -> str:
    """NFKC, upper case, and only letters and digits kept: spaces (any width, zero-width too), dashes,
    slashes, dots and other separators are dropped."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in ("L", "N"))


def reference_error(text: str | None) -> str | None:
    """What is wrong with a typed reference (a message), or None."""
    key = normalise_reference(text)
    if not key:
        return _("请填写银行流水号。")
    if len(key) > MAX_REFERENCE:
        return _("银行流水号最多 64 位。")
    if not _ALLOWED.fullmatch(key):
        return _("银行流水号只能包含字母和数字。")
    return None
