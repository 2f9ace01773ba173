"""Canonical bytes of an event payload and the hashes built over them.

Only strings, integers, booleans, None, Decimals (as 2-place strings), aware datetimes (as RFC 3339 UTC
with microseconds), lists and string-keyed dicts are accepted. Anything else, floats above all, raises:
a float cannot be hashed the same way twice on every platform, and money must never be one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

DOMAIN_TAG = b"sanzi-audit-event/v1\x00"
SCHEMA_VERSION = 1
GENESIS_HASH = "0" * 64
CENT = Decimal("0.01")


class CanonicalError(TypeError):
    """A value that has no canonical form (a float, an unknown type, a naive datetime)."""


def money(value: Decimal) -> str:
    """Money as a 2-place decimal string: Decimal("100") and Decimal("100.00") give "100.00"."""
    if not value.is_finite():
        raise CanonicalError(f"money must be finite, got {value!r}")
    try:
        cents = value.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise CanonicalError(f"money out of range: {value!r}") from None
    if cents != value:  # rounding here would hash a different amount from the one stored
        raise CanonicalError(f"money has more than 2 decimal places: {value!r}")
    return str(cents.copy_abs() if cents.is_zero() else cents)  # no "-0.00"


def timestamp(value: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with microseconds."""
    if value.tzinfo is None:
        raise CanonicalError("naive datetime has no canonical form; use UTC-aware times")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_PLAIN = frozenset({str, int, bool, type(None)})


def normalise(value: Any) -> Any:
    """Turn a payload into plain JSON values, refusing anything without a canonical form."""
    kind = type(value)
    # the common exact types first (a bulk import normalises a hundred thousand payloads); subclasses
    # (StrEnum, IntEnum...) take the general path below, which answers as it always did
    if kind in _PLAIN:
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise CanonicalError(f"payload keys must be strings, got {key!r}")
            out[key] = item if type(item) in _PLAIN else normalise(item)
        return out
    if kind is list:
        return [item if type(item) in _PLAIN else normalise(item) for item in value]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        raise CanonicalError("floats are not allowed in audit payloads")
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"payload keys must be strings, got {key!r}")
            out[key] = normalise(item)
        return out
    if isinstance(value, list | tuple):
        return [normalise(item) for item in value]
    if hasattr(value, "value") and isinstance(value.value, str):  # StrEnum and friends
        return value.value
    raise CanonicalError(f"no canonical form for {type(value).__name__}")


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    """Sorted-key compact UTF-8 JSON of the normalised payload."""
    return json.dumps(
        normalise(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def payload_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def entry_prefix(chain_id: str) -> bytes:
    """The part of every entry hash's input that depends only on the chain (domain tag, chain id)."""
    chain = chain_id.encode("utf-8")
    return DOMAIN_TAG + len(chain).to_bytes(4, "big") + chain


def entry_hash(chain_id: str, seq: int, prev_hash: str, canonical: bytes) -> str:
    """SHA-256(domain tag || chain id || seq || prev_hash || SHA-256(canonical bytes)).

    Each variable-length part is length-prefixed so that no two (chain, seq) pairs share an encoding.
    """
    chain = chain_id.encode("utf-8")
    if len(prev_hash) != 64:
        raise ValueError("prev_hash must be 64 hex digits")
    parts = [
        DOMAIN_TAG,
        len(chain).to_bytes(4, "big"),
        chain,
        seq.to_bytes(8, "big"),
        bytes.fromhex(prev_hash),
        hashlib.sha256(canonical).digest(),
    ]
    return hashlib.sha256(b"".join(parts)).hexdigest()
