"""The app's audit signing key and the public keys a verifier trusts."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from audit.checkpoints import key_id, load_or_create_signing_key


def signing_key() -> Ed25519PrivateKey:
    cfg = current_app.config
    return load_or_create_signing_key(Path(cfg["AUDIT_KEY_FILE"]), cfg.get("AUDIT_SIGNING_KEY"))


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    public = signing_key().public_key()
    return {key_id(public): public}
