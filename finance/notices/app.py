"""Wiring of the notices package into the app: the hook on the audit trail, its pages, its commands, and
what templates ask of it."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from finance import trail
    from finance.delegations.views import bp as delegations_bp
    from finance.notices import dispatch, queries
    from finance.notices.cli import notices_cli, worker
    from finance.notices.views import bp

    trail.on_record(dispatch.after_event)  # the notices every audit event causes, in its transaction
    app.register_blueprint(bp)
    app.register_blueprint(delegations_bp)  # delegation (代理审批): issue 14's fourth part
    app.cli.add_command(worker)
    app.cli.add_command(notices_cli)
    app.jinja_env.globals.update(
        notice_overdue_count=queries.overdue_count,
        notice_is_overdue=queries.is_overdue,
        notice_reminders_of=queries.reminders_of,
        notice_slowest_steps=queries.slowest_steps,
    )
