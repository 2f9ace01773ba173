"""`flask --app finance flags scan | export` (EXCHANGE.md §6)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from finance.extensions import db
from finance.flags.export import export_lines
from finance.flags.scan import scan

flags_cli = AppGroup("flags", help="Risk flags: scan for findings, export them.")


@flags_cli.command("scan")
@click.option("--full", is_flag=True, help="look at everything again, not only what changed since the last scan")
def scan_command(full: bool) -> None:
    """Run every detector over what changed (everything, the first time) and raise each finding once."""
    started = time.perf_counter()
    result = scan(full=full)
    db.session.commit()
    click.echo(f"looked at {result.looked_at} requests{' (full scan)' if result.full else ''}; "
               f"raised {len(result.raised)} flags, extended {len(result.extended)}; "
               f"{time.perf_counter() - started:.2f} s", err=True)


@flags_cli.command("export")
def export_command() -> None:
    """Every flag as JSON Lines on standard output."""
    for line in export_lines():
        click.echo(line)
