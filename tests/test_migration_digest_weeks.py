"""Migration 0007 records the weeks whose digests an earlier run decided."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("compliance", "0006_audit_append_only")]
AFTER = [("compliance", "0007_notification_fixes")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_weeks_already_decided_are_recorded_so_they_are_not_decided_again():
    apps = migrate(BEFORE)
    try:
        Notification = apps.get_model("compliance", "Notification")
        common = {"decided_on": dt.date(2026, 11, 30), "state": "sent"}
        Notification.objects.create(recipient="a@example.com", kind="admin_digest", cycle="2026-11-30", **common)
        Notification.objects.create(recipient="b@example.com", kind="admin_digest", cycle="2026-11-30", **common)
        Notification.objects.create(recipient="m@example.com", kind="manager_digest", cycle="2026-11-23", **common)
        Notification.objects.create(
            recipient="l@example.com", kind="expired", requirement_id=1, learner_id=1, cycle="2025-01-10", **common
        )

        apps = migrate(AFTER)
        DigestWeek = apps.get_model("compliance", "DigestWeek")
        assert sorted(DigestWeek.objects.values_list("kind", "week")) == [
            ("admin_digest", dt.date(2026, 11, 30)),
            ("manager_digest", dt.date(2026, 11, 23)),
        ]
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
