"""`flask --app finance import <kind> FILE`: one command group for every EXCHANGE.md format. Each
command reads the file, runs its format module (which calls the feature's services) as one unit of work,
commits it, and prints what was added and changed; a file with any bad line imports nothing, prints every
problem with its file, line and column, and exits 1.

Other formats join the group here: `@import_cli.command("statement")` (the bank's, EXCHANGE.md §5)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import click
from flask.cli import AppGroup

from finance.extensions import db
from finance.imports.reader import ImportFileError


class Reported(Protocol):
    """What an import answers: a message of what it added and changed (finance.imports Outcome, the
    bank's ImportOutcome)."""

    def message(self) -> str: ...


R = TypeVar("R", bound=Reported)

import_cli = AppGroup("import", help="Bulk imports (docs/imports.md, EXCHANGE.md): subjects, org-units, people, "
                                     "register, history, members.")

FILE = click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def run_file(path: Path, runner: Callable[[bytes, str], R]) -> R:
    """Run one import from a file as one unit of work: commit what it did, or roll everything back, print
    the problems (in Chinese, with file, line and column) and exit 1."""
    data = path.read_bytes()
    try:
        outcome = runner(data, path.name)
    except ImportFileError as exc:
        db.session.rollback()
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo("没有导入任何内容。", err=True)
        sys.exit(1)
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(outcome.message())
    return outcome


@import_cli.command("subjects")
@FILE
def import_subjects(path: Path) -> None:
    """The chart of accounts (EXCHANGE.md §0): 科目编码, 科目名称, 类别, 上级编码."""
    from finance.imports import subjects

    run_file(path, lambda data, name: subjects.run(data, name))


@import_cli.command("org-units")
@FILE
def import_org_units(path: Path) -> None:
    """Org units with the collective's bank account (EXCHANGE.md §1)."""
    from finance.imports import org_units

    run_file(path, lambda data, name: org_units.run(data, name))


@import_cli.command("people")
@FILE
@click.option("--links-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the activation links to this CSV file (keep it safe; hand each link to its person)")
def import_people(path: Path, links_out: Path | None) -> None:
    """People with their roles (EXCHANGE.md §2). New people get a one-time activation link, printed once."""
    from finance.imports import people

    outcome = run_file(path, lambda data, name: people.run(data, name))
    if not outcome.secrets:
        return
    click.echo("激活链接（只显示这一次；请分别交给本人，本人打开后设置自己的密码）：")
    for item in outcome.secrets:
        click.echo(f"  {item['username']:<16} {item['name']:<6} {item['code']}  {item['link']}")
    if links_out is not None:
        import csv

        with links_out.open("w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            writer.writerow(["用户名", "姓名", "激活码", "激活链接"])
            for item in outcome.secrets:
                writer.writerow([item["username"], item["name"], item["code"], item["link"]])
        click.echo(f"已写入 {links_out}")


HISTORY_MAX_BYTES = 2 * 1024 * 1024 * 1024  # a district's years of payments; the page and the API keep the lower limit


@import_cli.command("history")
@FILE
def import_history(path: Path) -> None:
    """Payment history from an earlier system (EXCHANGE.md §4), JSON Lines; attachment files are read
    relative to the file's folder."""
    from finance.imports import history

    run_file(path, lambda data, name: history.run(data, name, base=path.parent, max_bytes=HISTORY_MAX_BYTES))


@import_cli.command("register")
@FILE
def import_register(path: Path) -> None:
    """The related-persons register, 村干部及近亲属 (EXCHANGE.md §3)."""
    from finance.imports import register

    run_file(path, lambda data, name: register.run(data, name))


@import_cli.command("members")
@FILE
def import_members(path: Path) -> None:
    """The member roll of villages, 成员名册 (EXCHANGE.md §5b)."""
    from finance.imports import members

    run_file(path, lambda data, name: members.run(data, name))
