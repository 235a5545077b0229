"""Enroll and Remediate All as services (compliance-rules.md, "Remediation")."""

import datetime as dt

import pytest
from django.db import transaction

from compliance.models import AuditEvent, Enrollment, EnrollmentSource
from compliance.remediation import (
    NotRemediable,
    learner_enroll,
    learners_to_enroll,
    requirement_remediate,
)
from compliance.rules import learner_status
from compliance.signals import enrollments_opened
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

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

TODAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)


@pytest.fixture
def gdpr():
    return CourseFactory(code="GDPR-101", title="GDPR Essentials")


@pytest.fixture
def requirement(gdpr):
    return RequirementFactory(name="Data Privacy", course=gdpr, valid_days=365, warning_days=30)


def person(name: str, *completed: dt.date, course=None, **fields):
    learner = LearnerFactory(first_name=name, last_name="Example", email=f"{name.lower()}@example.com", **fields)
    for day in completed:
        CompletionFactory(learner=learner, course=course, day=day)
    return learner


def open_enrollments(course) -> dict[str, Enrollment]:
    return {e.learner.email: e for e in Enrollment.objects.filter(course=course, completed_at__isnull=True)}


@pytest.fixture
def cast(requirement, gdpr):
    """One learner per case of the rules, named after it."""
    old_course = CourseFactory(code="GDPR-100")
    people = {
        "compliant": person("Compliant", dt.date(2026, 3, 1), course=gdpr),
        "expiring": person("Expiring", dt.date(2025, 12, 20), course=gdpr),
        "expired": person("Expired", dt.date(2025, 11, 28), course=gdpr),
        "expired_enrolled": person("Expiredenrolled", dt.date(2025, 6, 1), course=gdpr),
        "retaking": person("Retaking", dt.date(2025, 6, 1), course=gdpr),
        "never": person("Never"),
        "enrolled": person("Enrolled"),
        "other_course": person("Othercourse"),
        "gone": person("Gone", active=False),
    }
    EnrollmentFactory(
        learner=people["expired_enrolled"], course=gdpr, enrolled_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    )
    EnrollmentFactory(learner=people["retaking"], course=gdpr, started_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    EnrollmentFactory(learner=people["enrolled"], course=gdpr, enrolled_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    # An open enrollment in another course does not count as enrolled in this one.
    EnrollmentFactory(learner=people["other_course"], course=old_course)
    return people


# --- Remediate All ----------------------------------------------------------------------


def test_remediate_all_enrolls_the_unenrolled_of_the_expired_tab_only(admin_user, requirement, gdpr, cast):
    result = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.EXPIRED, query="", today=TODAY
    )

    assert result.enrolled == 1
    enrollment = open_enrollments(gdpr)["expired@example.com"]
    assert (enrollment.source, enrollment.enrolled_by, enrollment.enrolled_at) == (
        EnrollmentSource.REMEDIATION,
        admin_user,
        NOW,
    )
    assert (enrollment.started_at, enrollment.progress, enrollment.completed_at) == (None, 0, None)
    # Only the remediated learner gained an enrollment; the three enrolled before keep theirs.
    assert set(open_enrollments(gdpr)) == {
        "expired@example.com",
        "expiredenrolled@example.com",
        "retaking@example.com",
        "enrolled@example.com",
    }
    assert Enrollment.objects.filter(source=EnrollmentSource.REMEDIATION).count() == 1


def test_remediate_all_on_not_started_enrolls_in_the_current_course_only(admin_user, requirement, gdpr, cast):
    result = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
    )

    assert result.enrolled == 2
    remediated = Enrollment.objects.filter(source=EnrollmentSource.REMEDIATION)
    assert {(e.learner.email, e.course.code) for e in remediated} == {
        ("never@example.com", "GDPR-101"),
        ("othercourse@example.com", "GDPR-101"),
    }
    # The deactivated learner is in no scope and is left alone.
    assert not Enrollment.objects.filter(learner=cast["gone"]).exists()


def test_enrolling_does_not_change_anyones_status(admin_user, requirement, cast):
    before = {key: learner_status(requirement, p.pk, TODAY) for key, p in cast.items()}
    for status in (Status.EXPIRED, Status.NOT_STARTED):
        requirement_remediate(actor=admin_user, requirement=requirement, status=status, query="", today=TODAY)
    after = {key: learner_status(requirement, p.pk, TODAY) for key, p in cast.items()}
    assert {k: r and r.status for k, r in after.items()} == {k: r and r.status for k, r in before.items()}
    assert after["never"].enrolled_on == TODAY
    assert after["expired"].enrolled_on == TODAY


def test_remediate_all_again_enrolls_nobody_new(admin_user, requirement, cast):
    first = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
    )
    enrollments = Enrollment.objects.count()
    second = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
    )
    assert (first.enrolled, second.enrolled) == (2, 0)
    assert Enrollment.objects.count() == enrollments


def test_remediate_all_respects_the_search(admin_user, requirement, gdpr):
    for name in ("Anna", "Annabel", "Bob"):
        person(name)

    result = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="ann example", today=TODAY
    )

    assert result.enrolled == 2
    assert set(open_enrollments(gdpr)) == {"anna@example.com", "annabel@example.com"}


def test_remediate_all_counts_the_tab_at_the_moment_it_runs(admin_user, requirement, gdpr):
    """The confirmation said 1; a learner who joined the tab since is enrolled too, and counted."""
    person("Early")
    shown = learners_to_enroll(requirement, TODAY, status=Status.NOT_STARTED, query="").count()
    person("Late")
    result = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
    )
    assert (shown, result.enrolled) == (1, 2)


def test_remediate_all_in_a_group_requirement_stays_in_the_group(admin_user, gdpr):
    hr = GroupFactory(name="HR Department")
    requirement = RequirementFactory(course=gdpr, target_group=hr)
    member, outsider = person("Member"), person("Outsider")
    MembershipFactory(learner=member, group=hr)

    result = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
    )

    assert result.enrolled == 1
    assert set(open_enrollments(gdpr)) == {member.email}
    assert not Enrollment.objects.filter(learner=outsider).exists()


@pytest.mark.parametrize("status", [Status.COMPLIANT, Status.EXPIRING_SOON, Status.IN_PROGRESS])
def test_remediate_all_refuses_other_tabs_and_writes_nothing(admin_user, requirement, cast, status):
    enrollments, events = Enrollment.objects.count(), AuditEvent.objects.count()
    with pytest.raises(NotRemediable, match="Not Started and Expired"):
        requirement_remediate(actor=admin_user, requirement=requirement, status=status, query="", today=TODAY)
    assert (Enrollment.objects.count(), AuditEvent.objects.count()) == (enrollments, events)


def test_remediate_all_is_audited_with_its_count_and_filter(admin_user, requirement, cast):
    requirement_remediate(actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="o", today=TODAY)
    event = AuditEvent.objects.get(action="requirement.remediate")
    assert (event.actor_id, event.actor_label, event.requirement_id, event.at) == (
        admin_user.pk,
        "alice",
        requirement.pk,
        NOW,
    )
    assert event.after == {"course": "GDPR-101", "status": "not_started", "q": "o", "enrolled": 2}


def test_remediate_all_of_an_empty_tab_is_audited_as_enrolling_nobody(admin_user, requirement):
    result = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.EXPIRED, query="", today=TODAY
    )
    assert result.enrolled == 0
    assert AuditEvent.objects.get(action="requirement.remediate").after["enrolled"] == 0


def test_remediate_all_after_a_course_swap_enrolls_in_the_new_course(admin_user, requirement, gdpr, cast):
    """Learners enrolled in the old course are not enrolled in the new one yet, so they are remediated."""
    from compliance.requirements import requirement_update

    new_course = CourseFactory(code="GDPR-102")
    requirement_update(actor=admin_user, requirement=requirement, course=new_course)
    requirement.refresh_from_db()

    result = requirement_remediate(
        actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
    )

    assert result.enrolled == 3  # never, enrolled (in GDPR-101 only), other_course
    assert set(open_enrollments(new_course)) == {
        "never@example.com",
        "enrolled@example.com",
        "othercourse@example.com",
    }
    assert "enrolled@example.com" in open_enrollments(gdpr), "the old course's enrollment is left alone"


# --- Enroll -----------------------------------------------------------------------------


def test_enroll_opens_one_remediation_enrollment(admin_user, requirement, gdpr, cast):
    result = learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast["never"].pk, today=TODAY)

    assert result.newly_enrolled
    assert (result.row.status, result.row.enrolled_on, result.row.started) == (Status.NOT_STARTED, TODAY, False)
    enrollment = open_enrollments(gdpr)["never@example.com"]
    assert (enrollment.source, enrollment.enrolled_by, enrollment.enrolled_at) == (
        EnrollmentSource.REMEDIATION,
        admin_user,
        NOW,
    )
    assert Enrollment.objects.filter(source=EnrollmentSource.REMEDIATION).count() == 1


@pytest.mark.parametrize("key", ["expired", "never", "other_course"])
def test_enroll_applies_to_not_started_and_expired_learners(admin_user, requirement, gdpr, cast, key):
    result = learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast[key].pk, today=TODAY)
    assert result.newly_enrolled
    assert cast[key].email in open_enrollments(gdpr)


@pytest.mark.parametrize("key", ["enrolled", "expired_enrolled"])
def test_enroll_of_an_enrolled_learner_succeeds_and_enrolls_nobody_new(admin_user, requirement, cast, key):
    enrollments = list(Enrollment.objects.values_list("pk", "enrolled_at"))
    result = learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast[key].pk, today=TODAY)
    assert not result.newly_enrolled
    assert list(Enrollment.objects.values_list("pk", "enrolled_at")) == enrollments
    assert AuditEvent.objects.get(action="requirement.enroll").after["enrolled"] == 0


def test_a_double_enroll_creates_one_enrollment(admin_user, requirement, gdpr, cast):
    first = learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast["never"].pk, today=TODAY)
    second = learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast["never"].pk, today=TODAY)
    assert (first.newly_enrolled, second.newly_enrolled) == (True, False)
    assert Enrollment.objects.filter(learner=cast["never"], course=gdpr).count() == 1


@pytest.mark.parametrize("key", ["compliant", "expiring", "retaking", "gone"])
def test_enroll_of_a_learner_who_is_not_remediable_is_refused_and_writes_nothing(admin_user, requirement, cast, key):
    enrollments, events = Enrollment.objects.count(), AuditEvent.objects.count()
    with pytest.raises(NotRemediable):
        learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast[key].pk, today=TODAY)
    assert (Enrollment.objects.count(), AuditEvent.objects.count()) == (enrollments, events)


def test_enroll_is_refused_for_a_learner_outside_the_target_group(admin_user, gdpr):
    requirement = RequirementFactory(course=gdpr, target_group=GroupFactory())
    outsider = person("Outsider")
    with pytest.raises(NotRemediable, match="not in the requirement's scope"):
        learner_enroll(actor=admin_user, requirement=requirement, learner_id=outsider.pk, today=TODAY)
    assert not Enrollment.objects.exists()


def test_enroll_is_audited_with_the_learner_and_requirement(admin_user, requirement, cast):
    learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast["expired"].pk, today=TODAY)
    event = AuditEvent.objects.get(action="requirement.enroll")
    assert (event.object_type, event.object_id, event.object_repr) == (
        "learner",
        str(cast["expired"].pk),
        "expired@example.com",
    )
    assert (event.actor_label, event.requirement_id, event.at) == ("alice", requirement.pk, NOW)
    assert event.after == {"course": "GDPR-101", "enrolled": 1, "enrolled_on": "2026-11-28"}


def test_a_completion_after_remediation_closes_the_enrollment(admin_user, requirement, gdpr, cast):
    """The remediation enrollment is an ordinary open enrollment: completing the course closes it."""
    from compliance.records import completion_record

    learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast["never"].pk, today=TODAY)
    completion_record(learner=cast["never"], course=gdpr, completed_at=NOW)
    assert "never@example.com" not in open_enrollments(gdpr)
    assert learner_status(requirement, cast["never"].pk, TODAY).status == Status.COMPLIANT


# --- After commit -------------------------------------------------------------------------


def test_new_enrollments_are_announced_once_committed(
    admin_user, requirement, cast, django_capture_on_commit_callbacks
):
    received = []

    def receiver(sender, requirement_id, enrollment_ids, **kwargs):
        received.append((requirement_id, enrollment_ids))

    enrollments_opened.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            result = requirement_remediate(
                actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
            )
        assert received == [], "nothing is announced before the transaction commits"
        for callback in callbacks:
            callback()
    finally:
        enrollments_opened.disconnect(receiver)

    new_ids = sorted(Enrollment.objects.filter(source=EnrollmentSource.REMEDIATION).values_list("pk", flat=True))
    assert result.enrollment_ids == new_ids and len(new_ids) == 2
    assert received == [(requirement.pk, new_ids)]


def test_nothing_is_announced_when_nobody_new_is_enrolled_or_the_change_rolls_back(
    admin_user, requirement, cast, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        learner_enroll(actor=admin_user, requirement=requirement, learner_id=cast["enrolled"].pk, today=TODAY)
    assert callbacks == []

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        requirement_remediate(
            actor=admin_user, requirement=requirement, status=Status.NOT_STARTED, query="", today=TODAY
        )
        raise RuntimeError("the surrounding change failed")
    assert callbacks == []
    assert not Enrollment.objects.filter(source=EnrollmentSource.REMEDIATION).exists()


# --- From the stored facts while they are exact ---------------------------------------------


def tallied(requirement):
    """The requirement as the pages read it, after a recompute: tallied exactly."""
    from compliance.recompute import requirement_recompute
    from compliance.selectors import requirement_for_page

    requirement_recompute(requirement_id=requirement.pk, today=TODAY)
    page_requirement = requirement_for_page(requirement.pk)
    assert page_requirement.tally_fresh
    return page_requirement


def emails(learners) -> set[str]:
    return set(learners.values_list("email", flat=True))


@pytest.mark.parametrize("status", [Status.NOT_STARTED, Status.EXPIRED])
@pytest.mark.parametrize("query", ["", "e", "never"])
def test_remediate_all_chooses_from_the_stored_facts_what_the_live_rules_choose(requirement, cast, status, query):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fast = tallied(requirement)
    with CaptureQueriesContext(connection) as ctx:
        chosen = emails(learners_to_enroll(fast, TODAY, status=status, query=query))
    assert "compliance_learnerrequirementstate" in ctx.captured_queries[-1]["sql"]
    assert chosen == emails(learners_to_enroll(requirement, TODAY, status=status, query=query))
    tab = {
        Status.NOT_STARTED: {"never@example.com", "othercourse@example.com"},
        Status.EXPIRED: {"expired@example.com"},
    }[status]
    assert chosen == ({"never@example.com"} & tab if query == "never" else tab)


def test_a_write_after_the_page_read_the_stamp_sends_remediate_all_to_the_live_rules(
    admin_user, requirement, gdpr, cast
):
    page_requirement = tallied(requirement)  # the page decided: tallied
    CompletionFactory(learner=cast["never"], course=gdpr, day=dt.date(2026, 11, 27))  # Compliant now

    result = requirement_remediate(
        actor=admin_user, requirement=page_requirement, status=Status.NOT_STARTED, query="", today=TODAY
    )

    assert result.enrolled == 1
    assert "never@example.com" not in open_enrollments(gdpr)
    assert "othercourse@example.com" in open_enrollments(gdpr)
