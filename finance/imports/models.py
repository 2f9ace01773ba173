"""One row per import that changed something (EXCHANGE.md): the file's name, SHA-256 and line count, what
it added and changed, and who ran it. Written only by `finance.imports.services.finish`, beside the
import's audit event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from finance.db import Base, UTCDateTime, utcnow


class ImportBatch(Base):
    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_file", "kind", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # subjects, org-units, people, register, history, members
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    lines: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    via: Mapped[str] = mapped_column(String(8), default="cli")  # cli, web, api
    summary: Mapped[str] = mapped_column(Text, default="{}")  # JSON: counts by record type
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
