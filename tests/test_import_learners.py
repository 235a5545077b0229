"""Import of learners: key email; groups become the exact set; all or nothing."""

import datetime as dt

import pytest
import time_machine

from compliance.models import AuditEvent, Learner, LearnerGroup, LearnerRequirementState, Membership
from tests.factories import GroupFactory, LearnerFactory, MembershipFactory, RequirementFactory
from tests.import_helpers import import_csv, problems_of

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def run(text: str, **kwargs):
    return import_csv("learners", text, **kwargs)


def rejected(text: str) -> list[str]:
    return problems_of("learners", text)


def table_counts() -> tuple[int, int, int, int]:
    return (
        Learner.objects.count(),
        LearnerGroup.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )


def groups_of(email: str) -> set[str]:
    return set(Learner.objects.get(email=email).groups.values_list("name", flat=True))


GOOD = (
    "email,first_name,last_name,groups,active,manager_email\n"
    "Ana@Example.com,Ana,Alves,HR Department; Sales Team,true,Boss@Example.com\n"
    "ben@example.com,Ben,Baker,Sales Team,,\n"
    "caro@example.com,Caro,Costa,,false,\n"
)


def test_a_good_file_creates_learners_with_lower_case_emails_and_their_groups():
    result = run(GOOD)

    assert (result.created, result.updated, result.unchanged, result.rows) == (3, 0, 0, 3)
    ana = Learner.objects.get(email="ana@example.com")
    assert (ana.first_name, ana.last_name, ana.active, ana.manager_email) == ("Ana", "Alves", True, "boss@example.com")
    assert groups_of("ana@example.com") == {"HR Department", "Sales Team"}
    assert groups_of("ben@example.com") == {"Sales Team"}
    assert groups_of("caro@example.com") == set()
    assert Learner.objects.get(email="ben@example.com").active is True  # empty cell: active
    assert Learner.objects.get(email="caro@example.com").active is False
    assert set(LearnerGroup.objects.values_list("name", flat=True)) == {"HR Department", "Sales Team"}
    assert result.groups_created == 2


def test_reimporting_the_same_file_duplicates_nothing_and_reports_every_row_unchanged():
    run(GOOD)
    before = table_counts()

    result = run(GOOD)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert table_counts()[:3] == before[:3]


def test_emails_match_existing_learners_whatever_their_case():
    LearnerFactory(email="dana@example.com", first_name="Dana", last_name="Old")

    result = run("email,first_name,last_name\nDANA@Example.COM,Dana,New\n")

    assert (result.created, result.updated) == (0, 1)
    assert list(Learner.objects.values_list("email", "last_name")) == [("dana@example.com", "New")]


def test_groups_become_the_exact_set_matched_case_insensitively_and_created_when_new():
    hr, sales = GroupFactory(name="HR Department"), GroupFactory(name="Sales Team")
    learner = LearnerFactory(email="eve@example.com", first_name="Eve", last_name="E")
    MembershipFactory(learner=learner, group=hr)
    MembershipFactory(learner=learner, group=sales)

    result = run("email,first_name,last_name,groups\neve@example.com,Eve,E,sales team;Legal\n")

    assert result.updated == 1
    assert groups_of("eve@example.com") == {"Sales Team", "Legal"}
    assert LearnerGroup.objects.filter(name__iexact="sales team").count() == 1
    assert result.groups_created == 1


def test_a_new_group_written_in_two_cases_in_one_file_is_created_once():
    run("email,first_name,last_name,groups\na@example.com,A,A,Night Shift\nb@example.com,B,B,NIGHT SHIFT\n")

    assert list(LearnerGroup.objects.values_list("name", flat=True)) == ["Night Shift"]
    assert groups_of("b@example.com") == {"Night Shift"}


def test_an_empty_groups_cell_clears_the_groups():
    learner = LearnerFactory(email="finn@example.com", first_name="Finn", last_name="F")
    MembershipFactory(learner=learner)

    result = run("email,first_name,last_name,groups\nfinn@example.com,Finn,F,\n")

    assert result.updated == 1
    assert groups_of("finn@example.com") == set()


def test_without_the_groups_column_groups_are_left_as_they_are():
    learner = LearnerFactory(email="gus@example.com", first_name="Gus", last_name="G")
    MembershipFactory(learner=learner, group=GroupFactory(name="Warehouse"))

    result = run("email,first_name,last_name\ngus@example.com,Gus,G\n")

    assert result.unchanged == 1
    assert groups_of("gus@example.com") == {"Warehouse"}


def test_the_same_groups_in_another_order_and_case_leave_the_learner_unchanged():
    learner = LearnerFactory(email="hana@example.com", first_name="Hana", last_name="H")
    MembershipFactory(learner=learner, group=GroupFactory(name="Alpha"))
    MembershipFactory(learner=learner, group=GroupFactory(name="Beta"))

    result = run("email,first_name,last_name,groups\nhana@example.com,Hana,H, beta ;ALPHA;\n")

    assert (result.updated, result.unchanged) == (0, 1)


def test_active_is_true_when_the_column_is_absent_so_a_listed_learner_is_reactivated():
    LearnerFactory(email="ivo@example.com", first_name="Ivo", last_name="I", active=False)

    result = run("email,first_name,last_name\nivo@example.com,Ivo,I\n")

    assert result.updated == 1
    assert Learner.objects.get(email="ivo@example.com").active is True


def test_active_false_deactivates_in_any_case():
    LearnerFactory(email="jo@example.com", first_name="Jo", last_name="J")

    run("email,first_name,last_name,active\njo@example.com,Jo,J,FALSE\n")

    assert Learner.objects.get(email="jo@example.com").active is False


def test_learners_not_in_the_file_are_left_as_they_are():
    other = LearnerFactory(email="kim@example.com", first_name="Kim", last_name="K", active=True)
    MembershipFactory(learner=other)

    run(GOOD)

    other.refresh_from_db()
    assert (other.first_name, other.active, other.groups.count()) == ("Kim", True, 1)


def test_manager_email_is_left_alone_without_its_column_and_cleared_by_an_empty_cell():
    LearnerFactory(email="lee@example.com", first_name="Lee", last_name="L", manager_email="boss@example.com")

    run("email,first_name,last_name\nlee@example.com,Lee,L\n")
    assert Learner.objects.get(email="lee@example.com").manager_email == "boss@example.com"

    run("email,first_name,last_name,manager_email\nlee@example.com,Lee,L,\n")
    assert Learner.objects.get(email="lee@example.com").manager_email == ""


def test_an_update_sets_updated_at():
    learner = LearnerFactory(email="max@example.com", first_name="Max", last_name="M")
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        run("email,first_name,last_name\nmax@example.com,Max,Moore\n")
    learner.refresh_from_db()
    assert learner.updated_at == NOW + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("not-an-email,A,B,,true,", 'email "not-an-email" is not a valid email address'),
        (",A,B,,true,", "email is empty"),
        ("a@example.com,A,B,,yes,", 'active must be true or false, not "yes"'),
        ("a@example.com,A,B,,true,boss@", 'manager_email "boss@" is not a valid email address'),
        ("a@example.com," + "x" * 151 + ",B,,true,", "first_name is longer than 150 characters"),
        ("a@example.com,A,B,Sales;" + "g" * 201 + ",true,", "is longer than 200 characters"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(row, reason):
    LearnerFactory(email="keep@example.com")
    before = table_counts()
    text = "email,first_name,last_name,groups,active,manager_email\nnew@example.com,N,N,New Group,true,\n" + row + "\n"

    problems = rejected(text)

    assert len(problems) == 1
    assert problems[0].startswith("line 3: ")
    assert reason in problems[0]
    assert table_counts() == before


def test_a_duplicate_email_inside_the_file_is_a_bad_row_whatever_its_case():
    problems = rejected("email,first_name,last_name\na@example.com,A,A\nb@example.com,B,B\nA@EXAMPLE.COM,A,A\n")

    assert problems == ["line 4: duplicate email a@example.com (also on line 2)"]
    assert Learner.objects.count() == 0


def test_every_bad_row_is_reported_at_once_with_all_its_reasons():
    problems = rejected("email,first_name,last_name,active\nbad,A,A,maybe\nok@example.com,O,K,true\nalso bad,B,B,\n")

    assert problems == [
        'line 2: email "bad" is not a valid email address; active must be true or false, not "maybe"',
        'line 4: email "also bad" is not a valid email address',
    ]
    assert Learner.objects.count() == 0


def test_a_dry_run_counts_like_a_real_run_and_writes_nothing():
    LearnerFactory(email="ben@example.com", first_name="Ben", last_name="Baker")
    before = table_counts()

    result = run(GOOD, dry_run=True)

    assert (result.dry_run, result.created, result.updated, result.unchanged) == (True, 2, 1, 0)
    assert result.groups_created == 2
    assert table_counts() == before


def test_an_import_records_one_summary_event_with_its_counts(admin_user):
    run(GOOD, actor=admin_user)

    event = AuditEvent.objects.get(action="import.learners")
    assert (event.action, event.object_type, event.object_repr, event.actor_label) == (
        "import.learners",
        "import",
        "upload.csv",
        "alice",
    )
    assert event.after == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "groups_created": 2}


def test_each_learner_created_is_audited_with_its_fields_and_sorted_groups(admin_user):
    run(GOOD, actor=admin_user)

    summary = AuditEvent.objects.get(action="import.learners")
    ana = Learner.objects.get(email="ana@example.com")
    event = AuditEvent.objects.get(action="import.create", object_id=str(ana.pk))
    assert (event.object_type, event.object_repr, event.actor_label, event.before) == (
        "learner",
        "Ana Alves <ana@example.com>",
        "alice",
        None,
    )
    assert event.after == {
        "email": "ana@example.com",
        "first_name": "Ana",
        "last_name": "Alves",
        "active": True,
        "manager_email": "boss@example.com",
        "groups": ["HR Department", "Sales Team"],
        "import_file": "upload.csv",
        "import_event": summary.pk,
    }
    assert AuditEvent.objects.filter(action="import.create").count() == 3


def test_a_learner_deactivated_and_regrouped_is_audited_with_before_and_after():
    ben = LearnerFactory(email="ben@example.com", first_name="Ben", last_name="Baker", active=True)
    MembershipFactory(learner=ben, group=GroupFactory(name="Warehouse"))
    MembershipFactory(learner=ben, group=GroupFactory(name="Sales Team"))

    run("email,first_name,last_name,groups,active\nben@example.com,Ben,Baker,sales team;HR,false\n")

    event = AuditEvent.objects.get(action="import.update")
    assert (event.object_type, event.object_id) == ("learner", str(ben.pk))
    assert event.before == {"active": True, "groups": ["Sales Team", "Warehouse"]}
    assert event.after == {
        "active": False,
        "groups": ["HR", "Sales Team"],
        "import_file": "upload.csv",
        "import_event": AuditEvent.objects.get(action="import.learners").pk,
    }


def test_a_learner_whose_groups_alone_change_is_audited_and_counted_updated():
    ben = LearnerFactory(email="ben@example.com", first_name="Ben", last_name="Baker")
    MembershipFactory(learner=ben, group=GroupFactory(name="Warehouse"))

    result = run("email,first_name,last_name,groups\nben@example.com,Ben,Baker,\n")

    assert (result.updated, result.unchanged) == (1, 0)
    event = AuditEvent.objects.get(action="import.update")
    assert event.before == {"groups": ["Warehouse"]}
    assert (event.after["groups"], set(event.after)) == ([], {"groups", "import_file", "import_event"})


def test_without_a_groups_column_the_audit_log_says_nothing_of_groups():
    ben = LearnerFactory(email="ben@example.com", first_name="Ben", last_name="Baker")
    MembershipFactory(learner=ben, group=GroupFactory(name="Warehouse"))

    run("email,first_name,last_name\nben@example.com,Benjamin,Baker\nana@example.com,Ana,Alves\n")

    updated = AuditEvent.objects.get(action="import.update")
    assert (updated.before, updated.after["first_name"]) == ({"first_name": "Ben"}, "Benjamin")
    assert "groups" not in AuditEvent.objects.get(action="import.create").after


def test_unchanged_rows_leave_no_audit_event_of_their_own():
    run(GOOD)
    seen = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    result = run(GOOD)

    assert result.unchanged == 3
    assert list(AuditEvent.objects.filter(pk__gt=seen).values_list("action", flat=True)) == ["import.learners"]


def test_a_dry_run_leaves_no_audit_event():
    ben = LearnerFactory(email="ben@example.com", first_name="Ben", last_name="Old")

    result = run(GOOD, dry_run=True)

    assert (result.created, result.updated) == (2, 1)
    assert not AuditEvent.objects.exists()
    ben.refresh_from_db()
    assert ben.last_name == "Old"


def test_an_import_that_changes_learners_recomputes_every_requirement(django_capture_on_commit_callbacks):
    everyone = RequirementFactory(target_group=None)
    sales = RequirementFactory(target_group=GroupFactory(name="Sales Team"))

    with django_capture_on_commit_callbacks(execute=True):
        result = run(GOOD)

    assert result.requirement_ids == {everyone.pk, sales.pk}
    in_scope = set(LearnerRequirementState.objects.values_list("requirement_id", "learner__email"))
    assert in_scope == {
        (everyone.pk, "ana@example.com"),
        (everyone.pk, "ben@example.com"),
        (sales.pk, "ana@example.com"),
        (sales.pk, "ben@example.com"),
    }


def test_an_import_that_changes_nothing_queues_no_recompute(django_capture_on_commit_callbacks):
    RequirementFactory()
    run(GOOD)

    with django_capture_on_commit_callbacks() as callbacks:
        result = run(GOOD)

    assert result.requirement_ids == frozenset()
    assert callbacks == []
