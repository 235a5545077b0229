"""Backups: ``export_evidence`` writes the same files for the same data (and
different ones when anything changed), and on PostgreSQL the backup script
dumps a seeded database, wipes it, restores it and finds the evidence unchanged."""

import datetime as dt
import io
import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from compliance.audit import audit_log
from tests.factories import CompletionFactory, CourseFactory, LearnerFactory, RequirementFactory
from tests.pg import raw_connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data(db):
    course = CourseFactory()
    requirement = RequirementFactory(name="Fire =safety", course=course)
    for i in range(3):
        learner = LearnerFactory()
        if i:
            CompletionFactory(learner=learner, course=course)
    audit_log(actor=None, action="requirement.create", obj=requirement, after={"name": requirement.name})
    return requirement


def export(folder: Path) -> dict[str, str]:
    call_command("export_evidence", out=str(folder), as_of=dt.date(2026, 11, 28), stdout=io.StringIO())
    return {path.name: path.read_text() for path in sorted(folder.iterdir())}


def test_the_evidence_export_is_the_same_twice_and_changes_with_the_data(data, tmp_path):
    first, second = export(tmp_path / "a"), export(tmp_path / "b")
    assert first == second
    assert f"report-{data.pk}-fire-safety.csv" in first and "audit-log.csv" in first
    report = first[f"report-{data.pk}-fire-safety.csv"]
    assert report.count("\n") == 4 and "'=safety" not in report.splitlines()[0]  # header, 3 learners
    assert '"\'Fire =safety"' in report or "'Fire =safety" in report or "Fire =safety" in report

    LearnerFactory()  # one more learner in scope
    assert export(tmp_path / "c") != first


@pytest.mark.postgres
def test_the_digest_of_the_tables_sees_a_changed_row(data, tmp_path):
    before = export(tmp_path / "a")["tables.txt"]
    assert "compliance_auditevent 1 " in before
    data.__class__.objects.filter(pk=data.pk).update(description="changed")
    assert export(tmp_path / "b")["tables.txt"] != before


def run_backup_check(database: str, pg_url: str = "postgres://nobody@127.0.0.1:1") -> subprocess.CompletedProcess:
    env = {**os.environ, "PG_URL": pg_url, "BACKUP_CHECK_DB": database, "LEARNERS": "60"}
    return subprocess.run(
        [str(ROOT / "scripts" / "backup_restore_check.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def server_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}"


@pytest.mark.parametrize("database", ["techclass", "template1", "techclass_backup_check_old", "x;y_backup_check"])
def test_the_backup_check_refuses_a_database_name_it_may_not_drop(database):
    result = run_backup_check(database)  # refused before it connects anywhere
    assert result.returncode == 2
    assert result.stderr.startswith("refused: BACKUP_CHECK_DB=") and "==" not in result.stdout


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_backup_check_refuses_a_database_that_already_exists_and_leaves_it_alone():
    database = f"{connection.settings_dict['NAME']}_existing_backup_check"
    with raw_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        result = run_backup_check(database, server_url())
        with raw_connection() as conn:
            still_there = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [database]).fetchone()
    finally:
        with raw_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
    assert result.returncode == 2
    assert f"refused: the database {database} already exists" in result.stderr
    assert still_there == (1,)


@pytest.mark.postgres
@pytest.mark.django_db
def test_backup_wipe_and_restore_keep_the_evidence_identical():
    result = run_backup_check(f"{connection.settings_dict['NAME']}_backup_check", server_url())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: " in result.stdout and "files identical before the backup and after the restore" in result.stdout
