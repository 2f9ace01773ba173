"""The app's audit signing key, the public keys a verifier trusts, and checkpoints issued by the app."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select

import audit
from audit.checkpoints import key_id, load_or_create_signing_key, load_public_key, public_key_pem
from finance.extensions import db

_cache: dict[tuple[str, str | None], Ed25519PrivateKey] = {}


def signing_key() -> Ed25519PrivateKey:
    """The Ed25519 key from SANZI_AUDIT_SIGNING_KEY (PEM) or the key file under instance/ (made on first
    use). It is never stored in the database, so someone who can rewrite the database cannot sign."""
    cfg = current_app.config
    cache_key = (str(cfg["AUDIT_KEY_FILE"]), cfg.get("AUDIT_SIGNING_KEY"))
    if cache_key not in _cache:
        _cache[cache_key] = load_or_create_signing_key(
            Path(cfg["AUDIT_KEY_FILE"]), cfg.get("AUDIT_SIGNING_KEY")
        )
    return _cache[cache_key]


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """The current key's public half, plus retired public keys (PEM files in the folder named by
    AUDIT_RETIRED_KEYS_DIR), so checkpoints signed before a key rotation still verify."""
    public = signing_key().public_key()
    keys = {key_id(public): public}
    cfg = current_app.config
    folder = cfg.get("AUDIT_RETIRED_KEYS_DIR") or os.environ.get("SANZI_AUDIT_RETIRED_KEYS_DIR")
    if folder:
        for path in sorted(Path(folder).glob("*.pem")):
            old = load_public_key(path.read_bytes())
            keys[key_id(old)] = old
    return keys


def public_pem() -> tuple[str, str]:
    """(key id, PEM) of the public key, as published on the public-key page."""
    public = signing_key().public_key()
    return key_id(public), public_key_pem(public)


def checkpoint(chain_id: str) -> audit.Checkpoint | None:
    """Sign the chain's current head in the current transaction, unless its newest checkpoint already
    covers it. Called after every payment; the caller commits."""
    head = db.session.get(audit.ChainHead, chain_id, populate_existing=True)
    if head is None or head.seq == 0:
        return None
    newest = db.session.execute(
        select(audit.Checkpoint.size)
        .where(audit.Checkpoint.chain_id == chain_id)
        .order_by(audit.Checkpoint.size.desc())
        .limit(1)
    ).scalar_one_or_none()
    if newest == head.seq:
        return None
    return audit.issue(db.session, signing_key(), chain_id)
