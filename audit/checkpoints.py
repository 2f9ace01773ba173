"""Ed25519-signed checkpoints: (chain, size, head hash, time, key id).

A liaison downloads checkpoints and keeps them off the server. Later, the verifier checks that the
chain still has at least that many events and the same head at that size, so a rewrite of the history
by someone with database access shows even if every hash in the rewritten chain is consistent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.canonical import timestamp
from audit.models import ChainHead, Checkpoint

STATEMENT_TAG = "sanzi-audit-checkpoint/v1"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def load_or_create_signing_key(path: Path, env_value: str | None = None) -> Ed25519PrivateKey:
    """The signing key: from a PEM in the environment, else a file (created on first use, mode 0600)."""
    if env_value:
        key = serialization.load_pem_private_key(env_value.encode(), password=None)
    elif path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    else:
        key = Ed25519PrivateKey.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the audit signing key must be Ed25519")
    return key


@dataclass(frozen=True)
class SignedCheckpoint:
    chain_id: str
    size: int
    head_hash: str
    issued_at: datetime
    key_id: str
    signature: str  # hex

    def statement(self) -> bytes:
        return statement_bytes(self.chain_id, self.size, self.head_hash, self.issued_at, self.key_id)

    def verify(self, trusted: dict[str, Ed25519PublicKey]) -> bool:
        key = trusted.get(self.key_id)
        if key is None:
            return False
        try:
            key.verify(bytes.fromhex(self.signature), self.statement())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "type": STATEMENT_TAG,
            "chain": self.chain_id,
            "size": self.size,
            "head": self.head_hash,
            "at": timestamp(self.issued_at),
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SignedCheckpoint:
        if data.get("type") != STATEMENT_TAG:
            raise ValueError("not a Sanzi audit checkpoint")
        return cls(
            chain_id=str(data["chain"]),
            size=int(data["size"]),
            head_hash=str(data["head"]),
            issued_at=datetime.strptime(data["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
        )

    @classmethod
    def from_row(cls, row: Checkpoint) -> SignedCheckpoint:
        issued = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=UTC)
        return cls(row.chain_id, row.size, row.head_hash, issued, row.key_id, row.signature)


def statement_bytes(chain_id: str, size: int, head_hash: str, issued_at: datetime, kid: str) -> bytes:
    body = {
        "type": STATEMENT_TAG,
        "chain": chain_id,
        "size": size,
        "head": head_hash,
        "at": timestamp(issued_at),
        "key_id": kid,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def issue(session: Session, signing_key: Ed25519PrivateKey, chain_id: str) -> Checkpoint | None:
    """Sign the chain's current head and store the checkpoint; None for a chain with no events.

    Reads the head under its row lock so the statement matches a committed-or-ours state of the chain.
    """
    head = session.execute(
        select(ChainHead)
        .where(ChainHead.chain_id == chain_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if head is None or head.seq == 0:
        return None
    kid = key_id(signing_key.public_key())
    issued_at = datetime.now(UTC)
    signature = signing_key.sign(statement_bytes(chain_id, head.seq, head.head_hash, issued_at, kid))
    row = Checkpoint(
        chain_id=chain_id,
        size=head.seq,
        head_hash=head.head_hash,
        issued_at=issued_at,
        key_id=kid,
        signature=signature.hex(),
    )
    session.add(row)
    session.flush()
    return row


def issue_all(session: Session, signing_key: Ed25519PrivateKey) -> list[Checkpoint]:
    """A checkpoint for every chain whose head moved since its newest checkpoint."""
    out = []
    for head in session.execute(select(ChainHead).order_by(ChainHead.chain_id)).scalars().all():
        newest = session.execute(
            select(Checkpoint.size)
            .where(Checkpoint.chain_id == head.chain_id)
            .order_by(Checkpoint.size.desc())
            .limit(1)
        ).scalar_one_or_none()
        if newest != head.seq:
            cp = issue(session, signing_key, head.chain_id)
            if cp is not None:
                out.append(cp)
    return out


def encode_b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
