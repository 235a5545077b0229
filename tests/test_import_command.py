"""``manage.py import_data``: end to end, as ops run it."""

import datetime as dt
import getpass
import io

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from compliance.models import AuditEvent, Completion, Learner, LearnerRequirementState
from tests.factories import CourseFactory, LearnerFactory, RequirementFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def import_data(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_data", *args, stdout=out, stderr=err, no_color=True)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def people(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        "email,first_name,last_name,groups\nana@example.com,Ana,Alves,Sales\nben@example.com,Ben,Baker,\n",
        encoding="utf-8",
    )
    return path


def test_a_good_file_prints_its_counts(people):
    LearnerFactory(email="ben@example.com", first_name="Ben", last_name="Old")

    out, err = import_data("learners", str(people))

    assert out.splitlines() == [
        "Imported learners from people.csv: 1 created, 1 updated, 0 unchanged (2 rows).",
        "New groups: 1.",
    ]
    assert err == ""
    assert Learner.objects.count() == 2


def test_a_reimport_prints_every_row_unchanged(people):
    import_data("learners", str(people))

    out, _ = import_data("learners", str(people))

    assert out.splitlines()[0] == "Imported learners from people.csv: 0 created, 0 updated, 2 unchanged (2 rows)."


def test_a_dry_run_prints_the_counts_and_writes_nothing(people):
    out, _ = import_data("learners", str(people), "--dry-run")

    assert out.splitlines() == [
        "Dry run of learners from people.csv: 2 to create, 0 to update, 0 unchanged (2 rows).",
        "New groups: 1.",
        "Nothing was written.",
    ]
    assert Learner.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_a_bad_file_lists_each_bad_line_on_stderr_and_exits_non_zero(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("email,first_name,last_name\nnot-an-email,A,A\nok@example.com,O,K\nok@example.com,O,K\n")
    err = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("import_data", "learners", str(path), stdout=io.StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        'line 2: email "not-an-email" is not a valid email address',
        "line 4: duplicate email ok@example.com (also on line 3)",
    ]
    assert str(excinfo.value) == f"{path}: 2 bad line(s); nothing was written."
    assert excinfo.value.returncode == 1
    assert Learner.objects.count() == 0


def test_a_refused_file_says_why_and_exits_non_zero(tmp_path, settings):
    settings.IMPORT_MAX_MB = 10 / (1024 * 1024)
    path = tmp_path / "big.csv"
    path.write_text("code,title\nA,B\n")
    err = io.StringIO()

    with pytest.raises(CommandError, match="the file was refused; nothing was written"):
        call_command("import_data", "courses", str(path), stdout=io.StringIO(), stderr=err)

    assert err.getvalue() == "the file is 15 bytes, larger than the limit of 10 bytes (IMPORT_MAX_MB)\n"


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"cannot read .*nowhere\.csv: No such file or directory"):
        import_data("courses", str(tmp_path / "nowhere.csv"))


def test_an_unknown_kind_is_refused_by_the_command_line(people):
    with pytest.raises(CommandError, match="invalid choice: 'people'"):
        import_data("people", str(people))


def test_a_completions_import_closes_enrollments_and_queues_the_recompute(tmp_path, django_capture_on_commit_callbacks):
    ana = LearnerFactory(email="ana@example.com")
    course = CourseFactory(code="GDPR-101")
    requirement = RequirementFactory(course=course)
    enrollments = tmp_path / "enrollments.csv"
    enrollments.write_text("email,course_code,enrolled_on,started_on,progress\nana@example.com,GDPR-101,2026-03-01,,\n")
    completions = tmp_path / "completions.csv"
    completions.write_text("email,course_code,completed_on\nana@example.com,GDPR-101,2026-03-10\n")
    import_data("enrollments", str(enrollments))

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = import_data("completions", str(completions))

    assert out.splitlines() == [
        "Imported completions from completions.csv: 1 created, 0 updated, 0 unchanged (1 row).",
        "Open enrollments closed by completions: 1.",
        "Recompute queued for 1 requirement(s).",
    ]
    assert Completion.objects.get().learner == ana
    assert LearnerRequirementState.objects.filter(requirement=requirement, learner=ana).exists()


def test_the_audit_log_names_the_os_user_who_ran_the_command(people, monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "ops-anna")

    import_data("learners", str(people))

    summary = AuditEvent.objects.get(action="import.learners")
    assert (summary.actor_id, summary.actor_label, summary.object_repr) == (None, "system (ops-anna)", "people.csv")
    per_learner = AuditEvent.objects.filter(action="import.create")
    assert set(per_learner.values_list("actor_label", flat=True)) == {"system (ops-anna)"}
    assert {event.after["import_file"] for event in per_learner} == {"people.csv"}


def test_without_an_os_user_name_the_audit_log_says_system(people, monkeypatch):
    def no_user():
        raise KeyError("getpwuid(): uid not found: 1234")

    monkeypatch.setattr(getpass, "getuser", no_user)

    import_data("learners", str(people))

    assert AuditEvent.objects.get(action="import.learners").actor_label == "system"
