"""The Django admin: every page answers, read-only models stay read-only, the
evidence (enrollments, completions) is never deleted, forms refuse bad values
with an error instead of a 500, and every write is audited and queues a
recompute of the requirements it affects."""

import datetime as dt

import pytest
import time_machine
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.audit import audit_log
from compliance.models import (
    AuditEvent,
    Completion,
    Course,
    DigestSnapshot,
    Enrollment,
    EnrollmentSource,
    Learner,
    LearnerRequirementState,
    Membership,
    Notification,
    NotificationKind,
    RecomputeRun,
    Requirement,
    RequirementCourseHistory,
    StatusChange,
)
from compliance.roles import ADMINS_GROUP, AUDITORS_GROUP
from compliance.statuses import Status
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)
READ_ONLY = [
    Requirement,
    RequirementCourseHistory,
    StatusChange,
    RecomputeRun,
    AuditEvent,
    Notification,
    DigestSnapshot,
]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_errors(response) -> str:
    """The errors of the admin form on a page that did not redirect, for assertion messages."""
    if response.status_code != 200 or response.context is None or "adminform" not in response.context:
        return f"status {response.status_code}"
    return str(response.context["adminform"].form.errors)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery staple")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def one_of_everything():
    """A row of every model, so change lists and change views render real rows."""
    group = GroupFactory(name="HR Department")
    learner = LearnerFactory(first_name="Ana", last_name="Alves", email="ana@example.com")
    MembershipFactory(learner=learner, group=group)
    old_course, course = CourseFactory(code="GDPR-100"), CourseFactory(code="GDPR-101")
    requirement = RequirementFactory(name="Data Privacy", course=course, target_group=group)
    RequirementCourseHistory.objects.create(
        requirement=requirement, course=old_course, mapped_at=NOW - dt.timedelta(days=400), swapped_out_at=NOW
    )
    EnrollmentFactory(learner=learner, course=course, enrolled_at=NOW - dt.timedelta(days=3))
    CompletionFactory(learner=learner, course=old_course, day=dt.date(2026, 3, 1))
    run = RecomputeRun.objects.create(trigger="test", as_of=NOW.date(), state=RecomputeRun.State.SUCCEEDED)
    LearnerRequirementState.objects.create(
        requirement=requirement,
        learner=learner,
        last_completed_on=dt.date(2026, 3, 1),
        status=Status.COMPLIANT,
        status_since=dt.date(2026, 3, 1),
        updated_at=NOW,
    )
    StatusChange.objects.create(
        requirement=requirement,
        learner=learner,
        from_status="",
        to_status=Status.COMPLIANT,
        changed_on=dt.date(2026, 3, 1),
        recorded_at=NOW,
        run=run,
    )
    audit_log(actor=None, action="requirement.create", obj=requirement, after={"name": "Data Privacy"})
    Notification.objects.create(
        recipient=learner.email,
        kind=NotificationKind.EXPIRED,
        requirement_id=requirement.pk,
        learner_id=learner.pk,
        cycle="2026-03-01",
        decided_on=NOW.date(),
        state=Notification.State.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    DigestSnapshot.objects.create(requirement=requirement, week=dt.date(2026, 11, 23), counts={"compliant": 1})


# --- Every page answers ------------------------------------------------------------


def test_site_header_names_the_product(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Techclass compliance admin" in response.content.decode()


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_registered_changelist_answers_200(admin_client, one_of_everything, model):
    assert admin_client.get(url(model, "changelist")).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_registered_change_view_answers_200(admin_client, one_of_everything, model):
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, "the fixture should hold a row of every registered model"
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_add_page_answers_200_where_adding_is_allowed_and_403_elsewhere(admin_client, model):
    expected = 403 if model in READ_ONLY else 200
    assert admin_client.get(url(model, "add")).status_code == expected


# --- Read-only models and undeletable evidence ---------------------------------------


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda model: model._meta.label)
def test_read_only_models_have_no_save_and_refuse_change_and_delete(admin_client, one_of_everything, model):
    obj = model._default_manager.order_by("pk").first()

    page = admin_client.get(url(model, "change", obj.pk))
    changed = admin_client.post(url(model, "change", obj.pk), {})
    deleted = admin_client.post(url(model, "delete", obj.pk), {"post": "yes"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert changed.status_code == 403
    assert deleted.status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_requirement_page_shows_its_course_history_read_only(admin_client, one_of_everything):
    requirement = Requirement.objects.get()

    page = admin_client.get(url(Requirement, "change", requirement.pk)).content.decode()

    assert "GDPR-100" in page  # the swapped-out course, from the inline
    assert 'name="course_history-0-course"' not in page  # shown, not editable


@pytest.mark.parametrize("model", [Enrollment, Completion], ids=lambda model: model._meta.label)
def test_enrollments_and_completions_cannot_be_deleted(admin_client, one_of_everything, model):
    obj = model._default_manager.first()

    changelist = admin_client.get(url(model, "changelist")).content.decode()
    change_page = admin_client.get(url(model, "change", obj.pk)).content.decode()
    single = admin_client.post(url(model, "delete", obj.pk), {"post": "yes"})
    bulk = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    admin_client.post(url(model, "changelist"), bulk)

    assert 'value="delete_selected"' not in changelist
    assert url(model, "delete", obj.pk) not in change_page
    assert single.status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()
    assert not AuditEvent.objects.filter(action="admin.delete").exists()


# --- Completions ----------------------------------------------------------------------


def completion_post(learner, course, day: str, time: str) -> dict:
    return {
        "learner": learner.pk,
        "course": course.pk,
        "completed_at_0": day,
        "completed_at_1": time,
        "_save": "Save",
    }


def test_adding_a_completion_sets_its_org_day_closes_the_enrollment_audits_and_recomputes(
    admin_client, superuser, frozen, settings, django_capture_on_commit_callbacks
):
    settings.TIME_ZONE = "Europe/Berlin"
    learner = LearnerFactory()
    requirement = RequirementFactory()
    enrollment = EnrollmentFactory(
        learner=learner, course=requirement.course, enrolled_at=dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC)
    )

    with django_capture_on_commit_callbacks(execute=True):
        # 00:30 in Berlin on the 20th is still the 19th in UTC: the org day is the 20th.
        response = admin_client.post(
            url(Completion, "add"), completion_post(learner, requirement.course, "2026-11-20", "00:30:00")
        )

    assert response.status_code == 302, form_errors(response)
    completion = Completion.objects.get()
    assert completion.completed_at == dt.datetime(2026, 11, 19, 23, 30, tzinfo=dt.UTC)
    assert completion.completed_on == dt.date(2026, 11, 20)
    assert (completion.source, completion.recorded_by) == (EnrollmentSource.ADMIN_ENROLL, superuser)
    enrollment.refresh_from_db()
    assert (enrollment.completed_at, enrollment.progress) == (completion.completed_at, 100)
    event = AuditEvent.objects.get(action="admin.add")
    assert (event.object_type, event.object_id, event.actor_label) == ("completion", str(completion.pk), "root")
    assert event.after["completed_on"] == "2026-11-20"
    assert RecomputeRun.objects.filter(trigger="admin", requirement_id=requirement.pk).exists()


def test_a_completion_later_than_now_is_a_form_error_and_writes_nothing(admin_client, frozen):
    learner, course = LearnerFactory(), CourseFactory()
    open_enrollment = EnrollmentFactory(learner=learner, course=course, enrolled_at=NOW - dt.timedelta(days=5))

    response = admin_client.post(url(Completion, "add"), completion_post(learner, course, "2026-11-28", "12:01:00"))

    assert response.status_code == 200
    assert "A completion cannot be later than now." in response.content.decode()
    assert not Completion.objects.exists()
    assert not AuditEvent.objects.exists()
    open_enrollment.refresh_from_db()
    assert open_enrollment.completed_at is None


def test_a_second_completion_on_the_same_org_day_is_a_form_error(admin_client, frozen):
    existing = CompletionFactory(day=dt.date(2026, 11, 20))

    response = admin_client.post(
        url(Completion, "add"), completion_post(existing.learner, existing.course, "2026-11-20", "15:00:00")
    )

    assert response.status_code == 200
    assert "already has a completion of this course on 2026-11-20" in response.content.decode()
    assert Completion.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_correcting_a_completion_rederives_its_day_and_audits_the_change(admin_client, frozen):
    completion = CompletionFactory(day=dt.date(2026, 11, 10))

    response = admin_client.post(
        url(Completion, "change", completion.pk),
        completion_post(completion.learner, completion.course, "2026-11-12", "08:00:00"),
    )

    assert response.status_code == 302, form_errors(response)
    completion.refresh_from_db()
    assert completion.completed_on == dt.date(2026, 11, 12)
    event = AuditEvent.objects.get(action="admin.change")
    assert event.before == {"completed_at": "2026-11-10 00:00:00+00:00", "completed_on": "2026-11-10"}
    assert event.after == {"completed_at": "2026-11-12 08:00:00+00:00", "completed_on": "2026-11-12"}


# --- Enrollments ----------------------------------------------------------------------


def enrollment_post(learner, course, progress="0", completed=("", "")) -> dict:
    return {
        "learner": learner.pk,
        "course": course.pk,
        "enrolled_at_0": "2026-11-20",
        "enrolled_at_1": "09:00:00",
        "started_at_0": "",
        "started_at_1": "",
        "progress": progress,
        "completed_at_0": completed[0],
        "completed_at_1": completed[1],
        "_save": "Save",
    }


def test_adding_an_enrollment_records_the_admin_audits_and_recomputes(
    admin_client, superuser, frozen, django_capture_on_commit_callbacks
):
    learner, requirement = LearnerFactory(), RequirementFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url(Enrollment, "add"), enrollment_post(learner, requirement.course))

    assert response.status_code == 302, form_errors(response)
    enrollment = Enrollment.objects.get()
    assert (enrollment.source, enrollment.enrolled_by) == (EnrollmentSource.ADMIN_ENROLL, superuser)
    event = AuditEvent.objects.get(action="admin.add")
    assert (event.object_type, event.after["learner"], event.after["progress"]) == ("enrollment", learner.pk, 0)
    assert RecomputeRun.objects.filter(trigger="admin", requirement_id=requirement.pk).exists()


def test_an_enrollment_added_before_an_existing_later_completion_is_stored_closed_by_it(admin_client, frozen):
    learner, course = LearnerFactory(), CourseFactory()
    completion = CompletionFactory(learner=learner, course=course, day=dt.date(2026, 11, 21))

    response = admin_client.post(url(Enrollment, "add"), enrollment_post(learner, course))  # enrolled 2026-11-20

    assert response.status_code == 302, form_errors(response)
    enrollment = Enrollment.objects.get()
    assert (enrollment.completed_at, enrollment.progress) == (completion.completed_at, 100)
    assert AuditEvent.objects.get(action="admin.add").after["completed_at"] == str(completion.completed_at)


def test_a_second_open_enrollment_is_a_form_error_not_a_500(admin_client, frozen):
    existing = EnrollmentFactory(enrolled_at=NOW - dt.timedelta(days=30))

    response = admin_client.post(url(Enrollment, "add"), enrollment_post(existing.learner, existing.course))

    assert response.status_code == 200
    assert "already has an open enrollment in this course" in response.content.decode()
    assert Enrollment.objects.count() == 1
    assert not AuditEvent.objects.exists()


def test_a_closed_enrollment_may_sit_beside_the_open_one(admin_client, frozen):
    existing = EnrollmentFactory(enrolled_at=NOW - dt.timedelta(days=30))

    response = admin_client.post(
        url(Enrollment, "add"),
        enrollment_post(existing.learner, existing.course, progress="100", completed=("2026-11-21", "10:00:00")),
    )

    assert response.status_code == 302, form_errors(response)
    assert Enrollment.objects.count() == 2


def test_reopening_a_closed_enrollment_beside_an_open_one_is_a_form_error(admin_client, frozen):
    open_one = EnrollmentFactory(enrolled_at=NOW - dt.timedelta(days=30))
    closed = EnrollmentFactory(
        learner=open_one.learner,
        course=open_one.course,
        enrolled_at=NOW - dt.timedelta(days=90),
        completed_at=NOW - dt.timedelta(days=60),
    )

    response = admin_client.post(url(Enrollment, "change", closed.pk), enrollment_post(closed.learner, closed.course))

    assert response.status_code == 200
    assert "already has an open enrollment in this course" in response.content.decode()
    closed.refresh_from_db()
    assert closed.completed_at == NOW - dt.timedelta(days=60)


@pytest.mark.parametrize("progress", ["101", "-1"])
def test_progress_outside_0_to_100_is_a_form_error(admin_client, frozen, progress):
    learner, course = LearnerFactory(), CourseFactory()

    response = admin_client.post(url(Enrollment, "add"), enrollment_post(learner, course, progress=progress))

    assert response.status_code == 200
    assert "progress" in response.context["adminform"].form.errors
    assert not Enrollment.objects.exists()


def test_an_enrollment_started_in_the_future_is_a_form_error(admin_client, frozen):
    learner, course = LearnerFactory(), CourseFactory()
    data = {**enrollment_post(learner, course), "started_at_0": "2026-11-29", "started_at_1": "09:00:00"}

    response = admin_client.post(url(Enrollment, "add"), data)

    assert response.status_code == 200
    assert "started_at" in response.context["adminform"].form.errors
    assert not Enrollment.objects.exists()


# --- Learners ---------------------------------------------------------------------------


def learner_post(learner, *, first_name=None, active=True, groups=()) -> dict:
    """The learner change form, with the memberships inline holding exactly ``groups`` as new rows."""
    data = {
        "email": learner.email,
        "first_name": learner.first_name if first_name is None else first_name,
        "last_name": learner.last_name,
        "manager_email": learner.manager_email,
        "memberships-TOTAL_FORMS": str(len(groups)),
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    if active:
        data["active"] = "on"
    for i, group in enumerate(groups):
        data[f"memberships-{i}-group"] = str(group.pk)
        data[f"memberships-{i}-learner"] = str(learner.pk)
    return data


def test_changing_a_learner_audits_the_changed_fields_and_groups_and_recomputes(
    admin_client, frozen, django_capture_on_commit_callbacks
):
    learner = LearnerFactory(first_name="Ana", last_name="Alves", email="ana@example.com")
    group = GroupFactory(name="Sales Team")
    requirement = RequirementFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(Learner, "change", learner.pk), learner_post(learner, first_name="Anna", active=False, groups=[group])
        )

    assert response.status_code == 302, form_errors(response)
    event = AuditEvent.objects.get(action="admin.change")
    assert (event.object_type, event.object_id, event.actor_label) == ("learner", str(learner.pk), "root")
    assert event.before == {"first_name": "Ana", "active": True, "groups": []}
    assert event.after == {"first_name": "Anna", "active": False, "groups": ["Sales Team"]}
    assert RecomputeRun.objects.filter(trigger="admin", requirement_id=requirement.pk).exists()


def test_saving_a_learner_without_changes_writes_no_audit_event(admin_client, django_capture_on_commit_callbacks):
    learner = LearnerFactory()
    RequirementFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(url(Learner, "change", learner.pk), learner_post(learner))

    assert response.status_code == 302, form_errors(response)
    assert not AuditEvent.objects.exists()
    assert callbacks == []


def test_renaming_a_learner_audits_but_does_not_recompute(admin_client, django_capture_on_commit_callbacks):
    learner = LearnerFactory(first_name="Ana")
    RequirementFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(url(Learner, "change", learner.pk), learner_post(learner, first_name="Anna"))

    assert response.status_code == 302, form_errors(response)
    assert AuditEvent.objects.get(action="admin.change").after == {"first_name": "Anna"}
    assert callbacks == []


def test_a_learner_email_taken_in_another_case_is_a_form_error(admin_client):
    LearnerFactory(email="ana@example.com")

    response = admin_client.post(
        url(Learner, "add"), {**learner_post(Learner(email="ANA@Example.com")), "first_name": "Ana"}
    )

    assert response.status_code == 200
    assert "A learner with this email already exists." in response.content.decode()
    assert Learner.objects.count() == 1


def test_a_new_learner_email_is_stored_in_lower_case_and_audited(admin_client):
    response = admin_client.post(url(Learner, "add"), learner_post(Learner(email="Ben@Example.com")))

    assert response.status_code == 302, form_errors(response)
    learner = Learner.objects.get()
    assert learner.email == "ben@example.com"
    assert AuditEvent.objects.get(action="admin.add").after["email"] == "ben@example.com"


def test_deactivate_action_audits_each_changed_learner_and_recomputes(admin_client, django_capture_on_commit_callbacks):
    first, second = LearnerFactory(), LearnerFactory()
    already_inactive = LearnerFactory(active=False)
    untouched = LearnerFactory()
    requirements = [RequirementFactory(), RequirementFactory()]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(Learner, "changelist"),
            {"action": "deactivate_selected", "_selected_action": [first.pk, second.pk, already_inactive.pk]},
        )

    assert response.status_code == 302
    assert set(Learner.objects.filter(active=False).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
        already_inactive.pk,
    }
    events = AuditEvent.objects.filter(action="admin.deactivate")
    assert sorted(int(e.object_id) for e in events) == sorted([first.pk, second.pk])
    assert all((e.before, e.after, e.actor_label) == ({"active": True}, {"active": False}, "root") for e in events)
    untouched.refresh_from_db()
    assert untouched.active
    recomputed = set(RecomputeRun.objects.filter(trigger="admin").values_list("requirement_id", flat=True))
    assert recomputed == {r.pk for r in requirements}


def test_activate_action_over_every_matching_learner(admin_client):
    inactive = [LearnerFactory(active=False) for _ in range(3)]

    response = admin_client.post(
        url(Learner, "changelist"),
        {"action": "activate_selected", "select_across": "1", "_selected_action": [inactive[0].pk]},
    )

    assert response.status_code == 302
    assert Learner.objects.filter(active=True).count() == 3
    assert AuditEvent.objects.filter(action="admin.activate").count() == 3


def learner_changelist_queries(admin_client, how_many: int) -> list[str]:
    groups = [GroupFactory(), GroupFactory()]
    for _ in range(how_many):
        learner = LearnerFactory()
        for group in groups:
            MembershipFactory(learner=learner, group=group)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url(Learner, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == how_many
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("how_many", [5, 50])
def test_learner_changelist_runs_a_fixed_number_of_queries(admin_client, how_many):
    queries = learner_changelist_queries(admin_client, how_many)
    # 1 session, 2 user, 3 groups for the "groups" filter, 4 COUNT of the
    # learners, 5 the page of learners, 6 their groups (one prefetch), then the
    # session saved on every request: 7 SAVEPOINT, 8 UPDATE, 9 RELEASE.
    assert len(queries) == 9, "\n".join(queries)


def test_group_changelist_counts_members_in_the_page_query(admin_client):
    sales = GroupFactory(name="Sales")
    GroupFactory(name="Empty")
    for active in (True, True, False):
        MembershipFactory(group=sales, learner=LearnerFactory(active=active))

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url(type(sales), "changelist"))

    rows = {group.name: (group.member_count, group.active_member_count) for group in response.context["cl"].result_list}
    assert rows == {"Sales": (3, 2), "Empty": (0, 0)}
    # 1 session, 2 user, 3 COUNT of the groups, 4 COUNT of all groups (the
    # "N total" link), 5 the page with both counts, 6-8 the session save.
    assert len(queries) == 8, "\n".join(q["sql"] for q in queries.captured_queries)


# --- Deletion of reference data ------------------------------------------------------------


def test_deleting_a_course_audits_its_last_state(admin_client):
    course = CourseFactory(code="FIRE-1", title="Fire safety")

    response = admin_client.post(url(Course, "delete", course.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Course.objects.exists()
    event = AuditEvent.objects.get(action="admin.delete")
    assert (event.object_type, event.object_id) == ("course", str(course.pk))
    assert event.before == {"code": "FIRE-1", "title": "Fire safety", "url": ""}


def test_bulk_deleting_learners_audits_each_with_its_groups_and_recomputes(
    admin_client, django_capture_on_commit_callbacks
):
    group = GroupFactory(name="Sales Team")
    learners = [LearnerFactory(), LearnerFactory()]
    MembershipFactory(learner=learners[0], group=group)
    requirement = RequirementFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(Learner, "changelist"),
            {"action": "delete_selected", "_selected_action": [x.pk for x in learners], "post": "yes"},
        )

    assert response.status_code == 302
    assert not Learner.objects.exists()
    events = {e.object_id: e.before for e in AuditEvent.objects.filter(action="admin.delete")}
    assert events[str(learners[0].pk)]["groups"] == ["Sales Team"]
    assert events[str(learners[1].pk)]["groups"] == []
    assert RecomputeRun.objects.filter(trigger="admin", requirement_id=requirement.pk).exists()


def test_a_course_code_taken_in_another_case_is_a_form_error(admin_client):
    CourseFactory(code="GDPR-101")

    response = admin_client.post(url(Course, "add"), {"code": "gdpr-101", "title": "Again", "url": "", "_save": "Save"})

    assert response.status_code == 200
    assert "A course with this code already exists." in response.content.decode()
    assert Course.objects.count() == 1


# --- Memberships ----------------------------------------------------------------------------


def test_adding_a_membership_audits_and_recomputes_only_requirements_targeting_its_group(
    admin_client, django_capture_on_commit_callbacks
):
    learner, group = LearnerFactory(), GroupFactory()
    targeting = RequirementFactory(target_group=group)
    everyone = RequirementFactory(target_group=None)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url(Membership, "add"), {"learner": learner.pk, "group": group.pk, "_save": "Save"}
        )

    assert response.status_code == 302, form_errors(response)
    event = AuditEvent.objects.get(action="admin.add")
    assert (event.object_type, event.after) == ("membership", {"learner": learner.pk, "group": group.pk})
    recomputed = set(RecomputeRun.objects.filter(trigger="admin").values_list("requirement_id", flat=True))
    assert recomputed == {targeting.pk}
    assert everyone.pk not in recomputed


# --- Portal accounts and roles -----------------------------------------------------------------


def user_post(user, groups=()) -> dict:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "groups": [group.pk for group in groups],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "_save": "Save",
    }


def test_granting_a_role_is_audited_without_the_password_hash(admin_client, outsider_user):
    admins = Group.objects.get(name=ADMINS_GROUP)

    response = admin_client.post(url(User, "change", outsider_user.pk), user_post(outsider_user, [admins]))

    assert response.status_code == 302, form_errors(response)
    event = AuditEvent.objects.get(action="admin.change")
    assert (event.object_type, event.object_id) == ("user", str(outsider_user.pk))
    assert event.before["groups"] == [] and event.after["groups"] == [ADMINS_GROUP]
    assert "password" not in event.before and "password" not in event.after


def test_setting_a_password_is_audited_without_the_hash(admin_client, outsider_user):
    new_password = "another correct horse battery"
    data = {"password1": new_password, "password2": new_password, "usable_password": "true"}

    response = admin_client.post(reverse("admin:auth_user_password_change", args=[outsider_user.pk]), data)

    assert response.status_code == 302
    outsider_user.refresh_from_db()
    assert outsider_user.check_password(new_password)
    event = AuditEvent.objects.get(action="admin.password")
    assert (event.object_id, event.before, event.after) == (
        str(outsider_user.pk),
        {"usable_password": True},
        {"usable_password": True},
    )


@pytest.mark.parametrize("name", [ADMINS_GROUP, AUDITORS_GROUP])
def test_role_groups_can_be_neither_deleted_nor_renamed(admin_client, name):
    group = Group.objects.get(name=name)

    deleted = admin_client.post(url(Group, "delete", group.pk), {"post": "yes"})
    renamed = admin_client.post(url(Group, "change", group.pk), {"name": "Renamed", "_save": "Save"})

    assert deleted.status_code == 403
    assert renamed.status_code == 302
    group.refresh_from_db()
    assert group.name == name


# --- Large tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Enrollment, Completion], ids=lambda model: model._meta.label)
def test_evidence_changelists_run_the_same_queries_for_5_and_50_rows(admin_client, model):
    def changelist_queries(how_many: int) -> int:
        model._default_manager.all().delete()
        factory = EnrollmentFactory if model is Enrollment else CompletionFactory
        factory.create_batch(how_many)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(url(model, "changelist"))
        assert response.context["cl"].result_count == how_many
        return len(queries)

    assert changelist_queries(5) == changelist_queries(50)


def test_learners_are_picked_by_search_not_from_a_full_list(admin_client):
    ana = LearnerFactory(email="ana@example.com", first_name="Ana", last_name="Alves")
    LearnerFactory(email="ben@example.com", first_name="Ben", last_name="Brown")
    add_page = admin_client.get(url(Enrollment, "add")).content.decode()

    found = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "compliance", "model_name": "enrollment", "field_name": "learner", "term": "ana"},
    )

    assert "ben@example.com" not in add_page  # no <option> per learner
    assert [row["id"] for row in found.json()["results"]] == [str(ana.pk)]


# --- Who may use the admin -------------------------------------------------------------


@pytest.mark.django_db
def test_a_compliance_admin_without_staff_status_uses_the_compliance_pages(client, admin_user):
    assert not admin_user.is_staff
    client.force_login(admin_user)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(url(Learner, "changelist")).status_code == 200
    response = client.post(url(Course, "add"), {"code": "FIRE-100", "title": "Fire Safety", "url": ""})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="admin.add", object_type="course", actor_label="alice").exists()


@pytest.mark.django_db
def test_a_compliance_admin_cannot_manage_accounts_or_grant_roles(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("user_fixture", ["auditor_user", "outsider_user"])
def test_auditors_and_other_users_are_sent_to_the_admin_sign_in(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.get(url(Learner, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_outbox_shows_a_failed_send_and_its_error(admin_client, one_of_everything):
    response = admin_client.get(reverse("admin:compliance_notification_changelist"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Failed" in body
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in body
