"""The worked example of compliance-rules.md, as data: shared by the tests of
every page and export that shows it."""

import datetime as dt

from compliance.models import Requirement
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)


def worked_example() -> Requirement:
    """Data Privacy, 365/30 days, GDPR-101, All Learners, and the eight learners
    ana … hana of the example (finn in the Sales and HR Department groups)."""
    course = CourseFactory(code="GDPR-101", title="GDPR Essentials")
    requirement = RequirementFactory(name="Data Privacy", course=course, valid_days=365, warning_days=30)

    def learner(first, last, *completed):
        person = LearnerFactory(first_name=first, last_name=last, email=f"{first.lower()}@example.com")
        for day in completed:
            CompletionFactory(learner=person, course=course, day=day)
        return person

    learner("Ana", "Alves", dt.date(2026, 3, 1))
    learner("Ben", "Brown", dt.date(2025, 12, 20))
    learner("Caro", "Costa", dt.date(2025, 11, 28))
    dev = learner("Dev", "Diaz", dt.date(2025, 6, 1))
    EnrollmentFactory(
        learner=dev,
        course=course,
        enrolled_at=dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC),
        started_at=dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC),
        progress=40,
    )
    eve = learner("Eve", "Evans", dt.date(2025, 12, 25))
    EnrollmentFactory(
        learner=eve,
        course=course,
        enrolled_at=dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC),
        started_at=dt.datetime(2026, 11, 26, 10, tzinfo=dt.UTC),
        progress=10,
    )
    finn = learner("Finn", "Fox")
    EnrollmentFactory(learner=finn, course=course, enrolled_at=dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC))
    learner("Gus", "Green")
    hana = learner("Hana", "Hill", dt.date(2026, 10, 1))
    hana.active = False
    hana.save()
    MembershipFactory(learner=finn, group=GroupFactory(name="Sales"))
    MembershipFactory(learner=finn, group=GroupFactory(name="HR Department"))
    return requirement
