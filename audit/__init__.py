"""Sanzi's hash-chained, append-only audit trail. Framework-free: it never imports Flask or `finance`."""

from audit.canonical import CanonicalError, canonical_bytes, entry_hash
from audit.checkpoints import SignedCheckpoint, issue, issue_all
from audit.log import (
    SYSTEM_CHAIN,
    Actor,
    Context,
    Entry,
    event_payload,
    record,
    record_many,
    record_many_chains,
    village_chain,
)
from audit.models import AuditBase, ChainHead, Checkpoint, Event
from audit.verify import Failure, Report, verify, verify_chain

__all__ = [
    "SYSTEM_CHAIN",
    "Actor",
    "AuditBase",
    "CanonicalError",
    "ChainHead",
    "Checkpoint",
    "Context",
    "Entry",
    "Event",
    "Failure",
    "Report",
    "SignedCheckpoint",
    "canonical_bytes",
    "entry_hash",
    "event_payload",
    "issue",
    "issue_all",
    "record",
    "record_many",
    "record_many_chains",
    "verify",
    "verify_chain",
    "village_chain",
]
