"""The API's own rows: personal API tokens (stored as the SHA-256 of the secret, which is shown once) and
the Idempotency-Key of each POST that acted (the answer it gave, replayed for 24 hours)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, UTCDateTime, utcnow


class ApiToken(Base):
    """A personal API token: it acts as its user (same roles, scope and separation of duties)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # SHA-256 (hex) of the secret: the secret is 32 random bytes, so a plain hash is enough (no stretching).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart in lists
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class IdempotencyKey(Base):
    """One POST that acted, under the Idempotency-Key its client sent: inserted in the transaction of the
    action itself (so of two sends at once, one acts and the other waits on the unique key, then replays),
    with the answer given. Keys are per user; a key expires after 24 hours."""

    __tablename__ = "api_idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_api_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(255))
