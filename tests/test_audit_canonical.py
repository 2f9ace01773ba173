"""The canonical form, property by property (hypothesis), and the verifier's fast path agreeing with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import audit
from audit.canonical import CanonicalError, canonical_bytes, entry_hash, money
from audit.log import _json, event_payload
from audit.verify import stored_payload_bytes

keys = st.text(min_size=1, max_size=8)
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
cents = st.integers(min_value=-(10**14), max_value=10**14)


@pytest.mark.slow  # hypothesis: many generated examples
@given(cents)
def test_money_hashes_the_same_however_it_is_written(n):
    value = Decimal(n).scaleb(-2)  # n cents
    spellings = [
        value,
        value.quantize(Decimal("0.01")),
        value.quantize(Decimal("0.0001")),
        Decimal(str(value)),
    ]
    if n % 100 == 0:
        spellings.append(Decimal(n // 100))  # Decimal("100") beside Decimal("100.00")
    assert len({canonical_bytes({"amount": s}) for s in spellings}) == 1
    assert money(value) == f"{value:.2f}".replace("-0.00", "0.00")


def test_known_money_examples():
    assert (
        canonical_bytes({"a": Decimal("100")})
        == canonical_bytes({"a": Decimal("100.00")})
        == b'{"a":"100.00"}'
    )
    assert canonical_bytes({"a": Decimal("1E+2")}) == b'{"a":"100.00"}'
    assert canonical_bytes({"a": Decimal("-0")}) == b'{"a":"0.00"}'


@pytest.mark.slow  # hypothesis: many generated examples
@given(
    st.decimals(min_value=-(10**12), max_value=10**12, places=3).filter(
        lambda d: d != d.quantize(Decimal("0.01"))
    )
)
def test_money_with_more_than_two_places_raises(value):
    with pytest.raises(CanonicalError):
        canonical_bytes({"amount": value})


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1E+40")]
)
def test_money_must_be_finite(value):
    with pytest.raises(CanonicalError):
        canonical_bytes({"amount": value})


@pytest.mark.slow  # hypothesis: many generated examples
@given(st.floats(allow_nan=True, allow_infinity=True), values)
def test_floats_raise_anywhere(number, other):
    for payload in ({"x": number}, {"x": [other, number]}, {"x": {"y": number}, "z": other}):
        with pytest.raises(CanonicalError):
            canonical_bytes(payload)


@pytest.mark.slow  # hypothesis: many generated examples
@given(st.datetimes(timezones=st.none()))
def test_naive_datetimes_raise(value):
    with pytest.raises(CanonicalError):
        canonical_bytes({"at": value})


@pytest.mark.slow  # hypothesis: many generated examples
@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_aware_datetimes_are_utc_with_microseconds(value, offset_minutes):
    utc = value.replace(tzinfo=UTC)
    local = utc.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert canonical_bytes({"at": utc}) == canonical_bytes({"at": local})
    text = json.loads(canonical_bytes({"at": local}))["at"]
    assert text.endswith("Z") and len(text) == len("2026-01-01T00:00:00.000000Z")


@pytest.mark.slow  # hypothesis: many generated examples
@given(st.dictionaries(keys, values, max_size=8), st.randoms())
def test_key_order_does_not_matter(payload, rnd):
    items = list(payload.items())
    rnd.shuffle(items)
    assert canonical_bytes(dict(items)) == canonical_bytes(payload)


@pytest.mark.slow  # hypothesis: many generated examples
@given(st.dictionaries(keys, values, max_size=8))
def test_canonical_bytes_are_compact_sorted_json(payload):
    raw = canonical_bytes(payload)
    assert json.loads(raw) == payload
    assert raw == json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("value", [object(), {1: "int key"}, b"bytes", {1.5}, complex(1, 2)])
def test_unknown_types_raise(value):
    with pytest.raises(CanonicalError):
        canonical_bytes({"x": value})


def test_entry_hash_binds_chain_seq_and_prev():
    body = b'{"a":1}'
    base = entry_hash("village:A", 1, "0" * 64, body)
    assert (
        len(
            {
                base,
                entry_hash("village:B", 1, "0" * 64, body),
                entry_hash("village:A", 2, "0" * 64, body),
                entry_hash("village:A", 1, "1" * 64, body),
                entry_hash("village:A", 1, "0" * 64, b'{"a":2}'),
            }
        )
        == 5
    )
    with pytest.raises(ValueError):
        entry_hash("village:A", 1, "00", body)


@pytest.mark.slow  # hypothesis: many generated examples
@given(
    before=st.none() | st.dictionaries(keys, values, max_size=4),
    after=st.none() | st.dictionaries(keys, values, max_size=4),
    reason=st.none() | st.text(max_size=30),
    actor_id=st.none() | st.integers(0, 10**6),
)
def test_verifier_fast_path_agrees_with_the_canonical_form(before, after, reason, actor_id):
    """`stored_payload_bytes` (what the verifier computes from a row) equals the bytes `record` hashed."""
    event = audit.Event(
        chain_id="village:X",
        seq=3,
        event_id="e",
        occurred_at=datetime(2026, 5, 1, 8, 0, 0, 123, tzinfo=UTC),
        actor_id=actor_id,
        actor_name="张三",
        actor_role="liaison",
        actor_org="HL-YC",
        action="note",
        subject_type="note",
        subject_id="1",
        reason=reason,
        http_request_id=None,
        client_addr="1.2.3.4",
        schema_version=1,
        attachments=json.dumps(["ab" * 32]),
        before=_json(before),  # stored as `record` stores them: canonical JSON text
        after=_json(after),
    )
    assert stored_payload_bytes(event) == canonical_bytes(event_payload(event))


def test_a_non_canonical_json_column_is_a_mismatch():
    """A column holding the same JSON written differently is still reported: the verifier compares bytes."""
    event = audit.Event(
        chain_id="village:X",
        seq=1,
        event_id="e",
        occurred_at=datetime(2026, 5, 1, tzinfo=UTC),
        actor_id=None,
        actor_name=None,
        actor_role=None,
        actor_org=None,
        action="note",
        subject_type="note",
        subject_id="1",
        reason=None,
        http_request_id=None,
        client_addr=None,
        schema_version=1,
        attachments="[]",
        before=None,
        after='{"a":1}',
    )
    good = canonical_bytes(event_payload(event))
    assert stored_payload_bytes(event) == good
    event.after = '{"a": 1}'
    assert canonical_bytes(event_payload(event)) == good  # the same meaning
    assert stored_payload_bytes(event) != good  # but not the bytes `record` wrote
