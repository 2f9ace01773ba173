"""`flask --app finance flags scan | export` (EXCHANGE.md §6)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from finance.extensions import db
from finance.flags import services
from finance.flags.export import export_lines
from finance.flags.scan import scan
from finance.orgs.models import OrgUnit
from finance.roles import OrgKind

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


@flags_cli.command("policy")
@click.argument("township_code")
@click.argument("changes", nargs=-1)
def policy_command(township_code: str, changes: tuple[str, ...]) -> None:
    """Show a township's flag thresholds, or publish a new version with NAME=VALUE changes (lists as
    comma-separated words), e.g. `flags policy HL-YC split_window_days=20 night_start=23`."""
    township = db.session.execute(select(OrgUnit).where(OrgUnit.code == township_code,
                                                        OrgUnit.kind == OrgKind.TOWNSHIP)).scalar_one_or_none()
    if township is None:
        raise click.ClickException(f"no township with code {township_code}")
    if not changes:
        click.echo(services.current_rules(township).to_json())
        return
    pairs = dict(c.split("=", 1) for c in changes if "=" in c)
    if len(pairs) != len(changes):
        raise click.ClickException("changes are NAME=VALUE")
    try:
        row = services.publish_rules(None, township, pairs)
    except services.FlagError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"published version {row.version} for {township.code}")
