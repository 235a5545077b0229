"""Migration 0011 (the state keyed by the pair, entries written lazily) and
0010 (the learners' sort key) undone and redone on a database in use."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from compliance.models import Learner, LearnerRequirementState, StatusChange
from compliance.recompute import recompute
from tests.factories import CompletionFactory, LearnerFactory, RequirementFactory

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_0011 = ("compliance", "0010_learner_sort_key")


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def at_noon(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC), tick=False)


def test_undoing_0011_writes_the_pending_entries_into_the_history():
    requirement = RequirementFactory(valid_days=365, warning_days=30)
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=requirement.course, day=dt.date(2025, 12, 20))
    with at_noon(dt.date(2026, 11, 1)):
        recompute(trigger="test")  # Compliant since 2025-12-20, its entry pending
    assert list(LearnerRequirementState.objects.values_list("entry_recorded", flat=True)) == [False]
    try:
        migrate([BEFORE_0011])
    finally:
        migrate(latest())
    with at_noon(dt.date(2026, 11, 25)):
        recompute(trigger="test")  # Expiring Soon since 2026-11-20

    history = list(StatusChange.objects.order_by("id").values_list("from_status", "to_status", "changed_on"))
    assert history == [
        ("", "compliant", dt.date(2025, 12, 20)),
        ("compliant", "expiring_soon", dt.date(2026, 11, 20)),
    ]


def test_undoing_0011_leaves_out_a_state_row_whose_learner_was_deleted_behind_djangos_back():
    RequirementFactory(valid_days=365, warning_days=30)
    gone, stays = LearnerFactory(), LearnerFactory()
    with at_noon(dt.date(2026, 11, 1)):
        recompute(trigger="test")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Learner._meta.db_table} WHERE id = %s", [gone.pk])
    try:
        migrate([BEFORE_0011])
    finally:
        migrate(latest())
    assert list(LearnerRequirementState.objects.values_list("learner_id", flat=True)) == [stays.pk]
    assert list(StatusChange.objects.values_list("learner_id", flat=True)) == [stays.pk]


def test_the_learner_triggers_survive_undoing_and_redoing_the_sort_key():
    """SQLite remakes the learner table to add the generated column, which drops
    its triggers; migration 0010 recreates them (PostgreSQL keeps them)."""
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'compliance_learner'::regclass AND NOT tgisinternal"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'compliance_learner'"

    def triggers():
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return sorted(row[0] for row in cursor.fetchall())

    before = triggers()
    assert before
    try:
        migrate([("compliance", "0009_sign_in_address_index")])
        undone = triggers()
    finally:
        migrate(latest())
    assert undone == before
    assert triggers() == before
