"""Writes of completions and enrollments, with the rules that tie them together
(compliance-rules.md, "Enrollments and completions")."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, OuterRef, QuerySet, Subquery
from django.utils import timezone

from compliance.dates import org_date, org_date_of
from compliance.models import Completion, Course, Enrollment, EnrollmentSource, Learner, Requirement
from compliance.models import RequirementCourseHistory as CourseHistory


def _closing_completions(enrollment_ref: str = "") -> QuerySet[Completion]:
    """Completions that close an open enrollment: same learner and course, made
    on or after the org day it was enrolled."""
    return Completion.objects.filter(
        learner_id=OuterRef(f"{enrollment_ref}learner_id"),
        course_id=OuterRef(f"{enrollment_ref}course_id"),
        # The wrapper gives the outer reference a type, which TruncDate needs to resolve.
        completed_on__gte=org_date_of(
            ExpressionWrapper(OuterRef(f"{enrollment_ref}enrolled_at"), output_field=DateTimeField())
        ),
    ).order_by("completed_at")


def close_enrollments_by_completions(open_enrollments: QuerySet[Enrollment]) -> int:
    """Close every given open enrollment that a completion closes, in one UPDATE.

    It takes the earliest such completion's moment and progress 100.
    """
    closing = _closing_completions()
    return (
        open_enrollments.filter(completed_at__isnull=True)
        .filter(Exists(closing))
        .update(completed_at=Subquery(closing.values("completed_at")[:1]), progress=100)
    )


def completion_record(
    *,
    learner: Learner,
    course: Course,
    completed_at: dt.datetime,
    source: str = EnrollmentSource.IMPORT,
    recorded_by=None,
) -> tuple[Completion, bool]:
    """Record a completion (once per learner, course and org day) and close the
    open enrollment it completes. Returns ``(completion, created)``."""
    if completed_at > timezone.now():
        raise ValidationError({"completed_at": "A completion cannot be later than now."})
    with transaction.atomic():
        completion, created = Completion.objects.get_or_create(
            learner=learner,
            course=course,
            completed_on=org_date(completed_at),
            defaults={"completed_at": completed_at, "source": source, "recorded_by": recorded_by},
        )
        if created:
            close_enrollments_by_completions(Enrollment.objects.filter(learner=learner, course=course))
    return completion, created


def affected_requirement_ids(course_ids) -> set[int]:
    """Requirements whose statuses a completion or enrollment of these courses can change."""
    course_ids = set(course_ids)
    current = Requirement.objects.filter(course_id__in=course_ids).values_list("pk", flat=True)
    past = CourseHistory.objects.filter(course_id__in=course_ids).values_list("requirement_id", flat=True)
    return set(current) | set(past)


def completion_correct(*, completion: Completion) -> Completion:
    """Save a corrected completion: its org day follows ``completed_at``, and an
    open enrollment it now completes is closed (as ``completion_record`` does).
    Enrollments it closed before stay closed. The caller audits."""
    completion.completed_on = org_date(completion.completed_at)
    with transaction.atomic():
        completion.save()
        close_enrollments_by_completions(
            Enrollment.objects.filter(learner_id=completion.learner_id, course_id=completion.course_id)
        )
    return completion
