"""Wiring of the flags package into the app: the hook on the audit trail (a submitted request is scanned
before step 1), its pages, its commands, and what templates ask of it."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from finance import trail
    from finance.flags import district, queries, scan
    from finance.flags.cli import flags_cli
    from finance.flags.views import bp

    trail.on_record(scan.on_event)  # preventive flags, in the submit's transaction
    app.register_blueprint(bp)
    app.cli.add_command(flags_cli)
    app.jinja_env.globals.update(open_flags_of=queries.open_flags_of, hold_of=queries.hold_of,
                                 open_questions_of=queries.open_questions_of,
                                 flags_district_of=district.district_of_user)
