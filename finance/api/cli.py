"""`flask --app finance api system-account USERNAME` makes an account a system account (an admin may then
give it API tokens); `flask --app finance api purge-keys` deletes expired Idempotency-Keys (cron)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from finance.api import idempotency, tokens
from finance.auth.models import User
from finance.extensions import db

api_cli = AppGroup("api", help="The JSON API: system accounts, expired Idempotency-Keys.")


@api_cli.command("system-account")
@click.argument("username")
def system_account(username: str) -> None:
    """Mark USERNAME as the account of a system (a bank, the province's platform)."""
    user = db.session.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    tokens.mark_system_account(user)
    db.session.commit()
    click.echo(f"{user.username} is a system account: an admin of its units may give it API tokens")


@api_cli.command("purge-keys")
def purge_keys() -> None:
    """Delete the Idempotency-Keys older than 24 hours."""
    count = idempotency.purge_expired()
    db.session.commit()
    click.echo(f"deleted {count} expired idempotency keys")
