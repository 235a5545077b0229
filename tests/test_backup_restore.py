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


@pytest.mark.postgres
@pytest.mark.django_db
def test_backup_wipe_and_restore_keep_the_evidence_identical():
    db = connection.settings_dict
    env = {
        **os.environ,
        "PG_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}",
        "BACKUP_CHECK_DB": f"{db['NAME']}_backup_check",
        "LEARNERS": "60",
    }
    result = subprocess.run(
        [str(ROOT / "scripts" / "backup_restore_check.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: " in result.stdout and "files identical before the backup and after the restore" in result.stdout
