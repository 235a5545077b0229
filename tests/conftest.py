import os

import pytest
from django.contrib.auth.models import Group

from compliance.roles import ADMINS_GROUP, AUDITORS_GROUP
from tests.factories import UserFactory


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL if not settings.CELERY_TASK_ALWAYS_EAGER else "none (tasks run in-process)"
    return [f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''}", f"celery broker: {broker}"]


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://...)")
    skip_redis = pytest.mark.skip(reason="needs a Redis broker (REDIS_URL)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture
def admin_user(db):
    user = UserFactory(username="alice")
    user.groups.add(Group.objects.get(name=ADMINS_GROUP))
    return user


@pytest.fixture
def auditor_user(db):
    user = UserFactory(username="bob")
    user.groups.add(Group.objects.get(name=AUDITORS_GROUP))
    return user


@pytest.fixture
def outsider_user(db):
    return UserFactory(username="charlie")
