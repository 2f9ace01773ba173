"""A limit on attachment churn: adding and deleting files on one request in a loop floods its village's
chain (the trail report of that day could not be exported past 5,000 events). Each add or delete counts
on the request (ATTACHMENT_CHANGES_PER_DAY) and on the user (ATTACHMENT_CHANGES_PER_HOUR), in the shared
counters of finance.ratelimit; past either, the change is refused with a message (a 429)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from finance import ratelimit


def count_change(user: Any, request_id: int) -> None:
    """Count one attachment change by `user` on request `request_id`, or raise RateLimited."""
    message = _("附件改动过于频繁，请稍后再试；如确需大量更换附件，请联系乡镇三资代理中心。")
    ratelimit.count("attach_req", str(request_id), limit=int(current_app.config["ATTACHMENT_CHANGES_PER_DAY"]),
                    window=timedelta(days=1), message=message)
    ratelimit.count("attach_user", str(user.id), limit=int(current_app.config["ATTACHMENT_CHANGES_PER_HOUR"]),
                    window=timedelta(hours=1), message=message)
