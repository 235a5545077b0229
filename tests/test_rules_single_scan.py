"""How the status is computed in SQL: the latest-completion subquery once per
learner, and Report pages that read the facts of their own learners only.
(What the statuses are is tested in test_rules.py and test_rules_property.py.)"""

import datetime as dt

import pytest

from compliance.models import Completion, Learner
from compliance.rules import filter_status, learner_statuses
from compliance.selectors import in_report_order, page_of
from compliance.statuses import Status
from tests.factories import CourseFactory, RequirementFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 28)


def test_the_status_reads_the_completions_once_per_learner():
    requirement = RequirementFactory()

    sql = str(learner_statuses(requirement, TODAY).values("status").query)

    assert sql.count('FROM "compliance_completion"') == 1


def test_the_status_with_a_swapped_out_course_still_reads_the_completions_once():
    requirement = RequirementFactory()
    requirement.course_history.create(
        course=CourseFactory(),
        mapped_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        swapped_out_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )

    sql = str(learner_statuses(requirement, TODAY).values("status").query)

    assert sql.count('FROM "compliance_completion"') == 1


def test_pages_of_a_tab_are_the_slices_of_the_whole_tab_in_report_order():
    requirement = RequirementFactory(valid_days=365, warning_days=30)
    learners = Learner.objects.bulk_create(
        Learner(email=f"p{i}@example.com", first_name=f"F{i % 4}", last_name=f"L{i % 7}") for i in range(23)
    )
    Completion.objects.bulk_create(
        Completion(
            learner=learner,
            course=requirement.course,
            completed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
            completed_on=dt.date(2026, 6, 1),
        )
        for learner in learners[::2]
    )
    statuses = learner_statuses(requirement, TODAY)

    for status, size in ((Status.COMPLIANT, 12), (Status.NOT_STARTED, 11)):
        whole = list(in_report_order(filter_status(statuses, status)).values_list("pk", flat=True))
        pages = [list(page_of(statuses, status, offset, 5).values_list("pk", flat=True)) for offset in range(0, 15, 5)]

        assert len(whole) == size
        assert pages == [whole[0:5], whole[5:10], whole[10:15]]
