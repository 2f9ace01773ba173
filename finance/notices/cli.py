"""`flask --app finance worker` sends notices; `flask --app finance notices remind` (cron) reminds and
escalates; `flask --app finance notices status` counts the outbox."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from flask.cli import AppGroup

notices_cli = AppGroup("notices", help="Notices: reminders and escalation, the outbox.")


@click.command("worker")
@click.option("--once", is_flag=True, help="send what is due now, then stop")
@click.option("--interval", default=2.0, show_default=True, help="seconds between looks at the outbox")
@click.option("--batch", default=20, show_default=True, help="deliveries claimed at a time")
def worker(once: bool, interval: float, batch: int) -> None:
    """Deliver notices from the outbox (several may run on PostgreSQL). SIGTERM: finish the send at hand
    and stop."""
    from finance.notices.worker import run_forever, run_once

    logging.basicConfig(level=logging.INFO, format="%(asctime)s notices %(levelname)s %(message)s")
    if once:
        outcome = run_once(batch=batch)
        click.echo(f"sent {len(outcome.sent)}, retry later {len(outcome.retried)}, failed {len(outcome.failed)}, "
                   f"quiet hours {len(outcome.deferred)}")
        return
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_forever(interval=interval, batch=batch, stop=stop)


@notices_cli.command("remind")
def remind() -> None:
    """Remind after N working days, tell the next level up after M (run it from cron, e.g. hourly)."""
    from finance.notices.reminders import remind as run

    report = run()
    click.echo(f"reminded {len(report.reminded)}, escalated {len(report.escalated)}")
    for number in report.reminded:
        click.echo(f"  remind   {number}")
    for number in report.escalated:
        click.echo(f"  escalate {number}")


@notices_cli.command("status")
def status() -> None:
    """How many deliveries are pending, being sent, sent and failed."""
    from finance.notices.queries import delivery_counts

    counts = delivery_counts()
    click.echo(", ".join(f"{state.value} {n}" for state, n in sorted(counts.items())) or "the outbox is empty")
