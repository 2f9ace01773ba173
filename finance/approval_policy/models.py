from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.db import Base, UTCDateTime, utcnow
from finance.orgs.models import OrgUnit


class RoutingPolicy(Base):
    """One immutable version of a township's approval rules (JSON, see `finance.approval_policy.rules`).
    The table keeps its first name, routing_policy."""

    __tablename__ = "routing_policy"
    __table_args__ = (UniqueConstraint("township_id", "version", name="uq_routing_policy_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    township: Mapped[OrgUnit] = relationship()
