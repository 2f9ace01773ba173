from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from finance.auth.models import User
from finance.db import Base, UTCDateTime, str_enum, utcnow
from finance.orgs.models import OrgUnit
from finance.roles import Role

delegation_village = Table(
    "delegation_village", Base.metadata,
    Column("delegation_id", ForeignKey("delegation.id", ondelete="CASCADE"), primary_key=True),
    Column("village_id", ForeignKey("org_unit.id"), primary_key=True),
)


class Delegation(Base):
    """A names B (the delegate) to act for A in `role` over `villages` from `starts_on` to `ends_on`
    (China dates, both included), unless ended early (`ended_at`)."""

    __tablename__ = "delegation"
    __table_args__ = (Index("ix_delegation_delegate_dates", "delegate_id", "ends_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    delegate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    role: Mapped[Role] = mapped_column(str_enum(Role, 32))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    delegate: Mapped[User] = relationship(foreign_keys=[delegate_id])
    villages: Mapped[list[OrgUnit]] = relationship(secondary=delegation_village, order_by=OrgUnit.code)

    def active_on(self, day: date) -> bool:
        return self.ended_at is None and self.starts_on <= day <= self.ends_on
