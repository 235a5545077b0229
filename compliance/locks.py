"""Locks for the recompute.

On PostgreSQL, advisory locks: a full run holds a session-level global lock
(a second full run is told "already running"); every recompute of one
requirement holds that requirement's transaction-level lock, so it waits for
a run in progress instead of being dropped. On SQLite there are no advisory
locks: every write transaction starts IMMEDIATE (settings), so the database's
own write lock serialises runs, and a second full run simply runs after the
first one (finding nothing left to change).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

_NAMESPACE = 0x7EC1  # "tech class": keeps our keys apart from other users of advisory locks
_GLOBAL_KEY = 0


def _has_advisory_locks() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def full_recompute_lock() -> Iterator[bool]:
    """Yield whether this process got the global lock; never waits."""
    if not _has_advisory_locks():
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_NAMESPACE, _GLOBAL_KEY])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_NAMESPACE, _GLOBAL_KEY])


def lock_requirement(requirement_id: int) -> None:
    """Wait for, then hold until the transaction ends, the lock of one requirement."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_requirement() must be called inside a transaction")
    if _has_advisory_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_NAMESPACE + 1, requirement_id])


def lock_sign_in(username: str) -> None:
    """Wait for, then hold until the transaction ends, the sign-in lock of one
    username (case-insensitive), so that its attempts are checked one at a time.
    On SQLite the transaction's IMMEDIATE write lock serialises them instead."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_sign_in() must be called inside a transaction")
    if _has_advisory_locks():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(lower(%s)))", [_NAMESPACE + 2, username])
