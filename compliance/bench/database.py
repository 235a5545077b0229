"""The benchmark's own PostgreSQL database: created beside the one
``DATABASE_URL`` names (never that one), used by Django's default connection
while the benchmark runs, and dropped at the end, on error or Ctrl-C too."""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db import connection


class BenchRefused(Exception):
    """The benchmark cannot run here (e.g. on SQLite); the message says why."""


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise BenchRefused(
            f"The benchmark needs PostgreSQL, but DATABASE_URL points at {connection.vendor}. "
            "Set DATABASE_URL=postgres://USER@HOST:PORT/NAME (the benchmark creates and drops a database of its own "
            "on that server and never touches NAME)."
        )


def bench_database_name() -> str:
    return f"techclass_bench_{os.getpid()}_{secrets.token_hex(3)}"


def _server_connection() -> psycopg.Connection:
    """A connection to the server's maintenance database, for CREATE/DROP DATABASE."""
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def bench_database() -> Iterator[str]:
    """Create a database of our own, point Django's default connection at it
    for the duration, and drop it afterwards whatever happens (SIGTERM is
    turned into KeyboardInterrupt so that the drop runs then too)."""
    require_postgresql()
    name = bench_database_name()
    original = connection.settings_dict["NAME"]
    if name == original:  # pragma: no cover - a random name cannot collide, but never drop theirs
        raise BenchRefused("refusing to use the database DATABASE_URL names")
    with _server_connection() as server:
        server.execute(f'CREATE DATABASE "{name}"')
    previous_sigterm = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        connection.close()
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = name
        yield name
    finally:
        connection.close()
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = original
        signal.signal(signal.SIGTERM, previous_sigterm)
        drop_database(name)


def drop_database(name: str) -> None:
    with _server_connection() as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(name: str) -> bool:
    with _server_connection() as server:
        return server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
