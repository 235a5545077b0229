"""The requirement services: audited changes, course swaps, deletion."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from compliance.models import AuditEvent, Requirement, RequirementCourseHistory
from compliance.requirements import requirement_create, requirement_delete, requirement_update
from tests.factories import CourseFactory, RequirementFactory, RequirementTypeFactory


@pytest.mark.django_db
def test_create_validates_audits_and_recomputes(admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        requirement = requirement_create(
            actor=admin_user,
            type=RequirementTypeFactory(),
            name="  Fire Safety ",
            valid_days=365,
            warning_days=30,
            course=CourseFactory(),
        )
    assert requirement.name == "Fire Safety"
    event = AuditEvent.objects.get(action="requirement.create")
    assert (event.actor_label, event.requirement_id, event.after["valid_days"]) == ("alice", requirement.pk, 365)
    assert len(callbacks) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("valid_days", "warning_days", "field"), [(0, 0, "valid_days"), (30, 30, "warning_days"), (30, 31, "warning_days")]
)
def test_create_refuses_bad_validity_and_writes_nothing(valid_days, warning_days, field):
    with pytest.raises(ValidationError) as error:
        requirement_create(
            actor=None,
            type=RequirementTypeFactory(),
            name="X",
            valid_days=valid_days,
            warning_days=warning_days,
            course=CourseFactory(),
        )
    assert field in error.value.message_dict
    assert not Requirement.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_update_records_only_what_changed_and_a_swap_keeps_the_old_course(admin_user):
    old, new = CourseFactory(code="GDPR-101"), CourseFactory(code="GDPR-102")
    requirement = RequirementFactory(course=old, valid_days=365)
    requirement_update(actor=admin_user, requirement=requirement, course=new, valid_days=730)
    event = AuditEvent.objects.get(action="requirement.update")
    assert event.before == {"valid_days": 365, "course": old.pk}
    assert event.after == {"valid_days": 730, "course": new.pk}
    [history] = RequirementCourseHistory.objects.filter(requirement=requirement)
    assert history.course == old
    assert requirement.course == new


@pytest.mark.django_db
def test_an_update_that_changes_nothing_writes_nothing():
    requirement = RequirementFactory(valid_days=365)
    requirement_update(actor=None, requirement=requirement, valid_days=365)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_delete_keeps_an_audit_record_of_the_last_settings(admin_user):
    requirement = RequirementFactory(name="Fire Safety", valid_days=365)
    requirement_delete(actor=admin_user, requirement=requirement)
    event = AuditEvent.objects.get(action="requirement.delete")
    assert event.object_repr == "Fire Safety"
    assert event.before["valid_days"] == 365
    assert not Requirement.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_course_swaps_at_once_are_applied_one_after_the_other():
    x, y, z = CourseFactory(code="X"), CourseFactory(code="Y"), CourseFactory(code="Z")
    requirement = RequirementFactory(course=x)
    barrier = threading.Barrier(2)

    def swap_to(course):
        stale = Requirement.objects.get(pk=requirement.pk)  # both admins loaded the page while it was X
        barrier.wait()
        try:
            requirement_update(actor=None, requirement=stale, course=course)
        finally:
            connection.close()

    threads = [threading.Thread(target=swap_to, args=(course,)) for course in (y, z)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    requirement.refresh_from_db()
    swapped_out = list(requirement.course_history.order_by("swapped_out_at").values_list("course__code", flat=True))
    assert swapped_out[0] == "X"
    assert sorted([*swapped_out, requirement.course.code]) == ["X", "Y", "Z"]
