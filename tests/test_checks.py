import pytest
from django.db import connection

from compliance.checks import sqlite_is_recent_enough


@pytest.fixture
def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("a check of SQLite")


def test_a_recent_sqlite_passes(sqlite_only):
    assert sqlite_is_recent_enough() == []


def test_an_old_sqlite_is_refused_with_a_clear_message(sqlite_only, monkeypatch):
    monkeypatch.setattr(connection.Database, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(connection.Database, "sqlite_version", "3.31.1")
    [error] = sqlite_is_recent_enough()
    assert error.id == "compliance.E001"
    assert "SQLite 3.31.1 is too old: this app needs 3.35.0 or newer." in error.msg
