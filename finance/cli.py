"""Command-line tools: `flask --app finance db upgrade | create-user | seed-demo | audit ...`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

import audit
from audit.verify import chain_ids
from finance.audit_keys import signing_key
from finance.auth import services
from finance.demo import PEOPLE, AlreadySeeded, seed
from finance.extensions import db
from finance.imports.cli import import_cli
from finance.migrate import upgrade
from finance.orgs.models import OrgUnit
from finance.oversight.verification import load_checkpoint_folder, run_verify
from finance.roles import Role

db_cli = AppGroup("db", help="Database schema (Alembic).")
audit_cli = AppGroup("audit", help="The audit trail: verify, checkpoints.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the database to the current schema."""
    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo("database is at " + revision)


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--display-name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "org_code", required=True, help="org unit code")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_user(username: str, display_name: str, role: str, org_code: str, password_stdin: bool) -> None:
    """Create a user with one role assignment."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == org_code)).scalar_one_or_none()
    if unit is None:
        raise click.ClickException(f"no org unit with code {org_code}")
    try:
        user = services.create_user(username=username, display_name=display_name, password=password,
                                    role=Role(role), org_unit=unit)
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"created {user.username} ({role} at {unit.code})")


@click.command("seed-demo")
@click.option("--password", default="sanzi2026", show_default=True)
@click.option("--if-empty", is_flag=True,
              help="when the database already has data, load nothing and just print the demo logins")
def seed_demo(password: str, if_empty: bool) -> None:
    """Load the demo district, people and requests (only into an empty database)."""
    try:
        logins = seed(password)
    except AlreadySeeded as exc:
        db.session.rollback()
        if not if_empty:
            raise click.ClickException(str(exc)) from None
        click.echo("the database already has data; demo data not loaded again")
        logins = [(u, name, f"{role.label} · {code}") for u, name, role, code in PEOPLE]
    else:
        db.session.commit()
    click.echo(format_logins(logins, password))


def format_logins(logins: list[tuple[str, str, str]], password: str) -> str:
    lines = [f"演示账号（密码均为 {password}）:"]
    for username, name, role in logins:
        lines.append(f"  {username:<16} {name:<6} {role}")
    return "\n".join(lines)


@audit_cli.command("verify")
@click.option("--chain", default=None, help="one chain, e.g. village:HL-CZ-01")
@click.option("--checkpoints", "folder", type=click.Path(path_type=Path), default=None,
              help="a folder of checkpoint files kept outside the server")
@click.option("--public-key", "pubkeys", multiple=True, type=click.Path(path_type=Path),
              help="trust this public key (PEM); default: the app's own key")
def audit_verify(chain: str | None, folder: Path | None, pubkeys: tuple[Path, ...]) -> None:
    """Check every chain (or one); print each failure; exit 1 on any."""
    if chain and chain not in chain_ids(db.session) and not any(
        cp.chain_id == chain for cp in (load_checkpoint_folder(folder) if folder else [])
    ):
        raise click.ClickException(f"no chain {chain} in this database or the kept checkpoints")
    report = run_verify(chain=chain, folder=folder, pubkeys=pubkeys)
    for chain_id, chain_report in sorted(report.chains.items()):
        status = "ok" if chain_report.ok else "FAILED"
        click.echo(f"{chain_id}: {chain_report.size} events, {chain_report.checkpoints_checked} "
                   f"checkpoints, {status}")
    failures = report.all_failures()
    for failure in failures:
        click.echo(f"FAIL {failure.chain_id} seq {failure.seq}: {failure.reason}")
    if failures:
        sys.exit(1)
    click.echo("all chains verified")


@audit_cli.command("checkpoint")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="also write them to this folder")
def audit_checkpoint(out: Path | None) -> None:
    """Sign a checkpoint for every chain that moved (run it from cron)."""
    rows = audit.issue_all(db.session, signing_key())
    db.session.commit()
    for row in rows:
        click.echo(f"{row.chain_id}: size {row.size} head {row.head_hash[:16]}")
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            cp = audit.SignedCheckpoint.from_row(row)
            name = f"{row.chain_id.replace(':', '_')}-{row.size}.json"
            (out / name).write_text(json.dumps(cp.to_json(), indent=2))
    if not rows:
        click.echo("no chain moved since its last checkpoint")


def register(app: Flask) -> None:
    app.cli.add_command(db_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(create_user)
    app.cli.add_command(seed_demo)
    app.cli.add_command(import_cli)
    from finance.bank.cli import register as register_bank

    register_bank(app)  # after the `import` group, which it joins
