"""Demo data that shows the product, kept apart from the production modules: the district and its people
(`district`, which the test suite builds on too), payment requests in every state (`spending`), and the
earlier system's history and a member roll, through the importers (`history`)."""

from __future__ import annotations

from finance.demo.district import PEOPLE, AlreadySeeded, seed_base
from finance.demo.history import seed_history
from finance.demo.spending import seed_requests

__all__ = ["PEOPLE", "AlreadySeeded", "seed", "seed_base"]


def seed(password: str) -> list[tuple[str, str, str]]:
    """All demo data; returns (username, name, role label) for the printed logins."""
    users = seed_base(password)
    from finance.demo.bank import seed_bank
    from finance.demo.spending import TO_RECONCILE

    seed_requests(users)
    seed_history()
    seed_bank(users, list(TO_RECONCILE))
    return [(u, users[u].display_name, f"{r.label} · {c}") for u, _, r, c in PEOPLE]
