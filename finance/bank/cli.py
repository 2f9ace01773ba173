"""The bank's commands:

    flask --app finance import statement FILE --as USERNAME [--account 6228...]
    flask --app finance bank check [--as USERNAME]

`import statement` runs the same service as the import page (EXCHANGE.md §5), as the named user (whose
scope and role the file must fit), as one unit of work: committed, or, with any bad line, nothing imported,
every problem printed with file, row and column, exit 1. `bank check` raises 已支付未见流水 for every
village (idempotent: a payment is raised once), for a daily timer."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from finance.auth.models import User
from finance.extensions import db
from finance.imports.cli import run_file
from finance.orgs.models import OrgUnit
from finance.roles import OrgKind


def _user(username: str) -> User:
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.is_active:
        raise click.ClickException(f"no active user {username!r}")
    return user


@click.command("statement")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", "account", default=None, help="the collective's account, when the file has no 本方账号")
@click.option("--as", "username", required=True, help="the user importing (agency reviewer or cashier)")
def import_statement(path: Path, account: str | None, username: str) -> None:
    """A bank statement (EXCHANGE.md §5): CSV (UTF-8 or GB18030) or .xlsx."""
    from finance.bank import services as bank

    user = _user(username)
    run_file(path, lambda data, name: bank.import_statement(user, data, name, account))


bank_cli = AppGroup("bank", help="Bank statements and reconciliation (docs/bank.md).")


@bank_cli.command("check")
@click.option("--as", "username", default=None, help="the user recorded as raising them (default: the system)")
def check(username: str | None) -> None:
    """Raise 已支付未见流水 for payments still without their statement line after the township's days."""
    from finance.bank import services as bank

    user = _user(username) if username else None
    raised = 0
    for village in db.session.execute(select(OrgUnit).where(OrgUnit.kind == OrgKind.VILLAGE)
                                      .order_by(OrgUnit.code)).scalars():
        raised += len(bank.check_paid_without_statement(village, user))
    db.session.commit()
    click.echo(f"raised {raised} paid_without_statement exception(s)")


def register(app: Flask) -> None:
    """`import statement` joins the `import` group (made here if no other format made it first), and the
    `bank` group is added."""
    group = app.cli.commands.get("import")
    if not isinstance(group, click.Group):
        group = AppGroup("import", help="Bulk imports (EXCHANGE.md).")
        app.cli.add_command(group)
    group.add_command(import_statement)
    app.cli.add_command(bank_cli)
