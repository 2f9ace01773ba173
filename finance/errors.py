"""The outcomes of a refused write, shared by every service and turned into a response in one place
(`finance.web.write`): bad input (422), not this user (403), not there for them (404), someone else
acted first (409). A state
that does not allow the action is `finance.workflow.NotAllowed` (409), where the table lives."""

from __future__ import annotations


class InputError(ValueError):
    """Input the user must correct: a message, and field name -> message for the fields concerned."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class Forbidden(Exception):
    """The user may see the object but not do this to it."""


class AlreadyHandled(Exception):
    """Someone else acted first (or this very form was sent before, by someone else): nothing changed."""


class NotFound(Exception):
    """The object does not exist for this user (missing, or out of their scope): a 404, like a missing one."""


class ImportedHistory(AlreadyHandled):
    """The request is imported history (EXCHANGE.md §4): decided and paid in an earlier system, never acted on
    here (a 409 saying so)."""
