"""The app's PostgreSQL role (``manage.py app_role_sql``): connected as a role
given exactly that SQL, the app can read and add audit events but cannot
change, delete, truncate them or switch the append-only trigger off."""

from __future__ import annotations

import io
import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg import errors

from compliance.app_role import app_role_sql
from tests.pg import raw_connection

pytestmark = pytest.mark.django_db

PASSWORD = "app-role-test-password"


def printed_sql(role: str) -> str:
    out = io.StringIO()
    call_command("app_role_sql", role=role, stdout=out)
    return out.getvalue()


@pytest.fixture
def app_role():
    """A login role of its own (roles are cluster-wide), given the printed SQL; dropped afterwards."""
    role = f"app_test_{uuid.uuid4().hex[:12]}"
    sql = printed_sql(role)
    with raw_connection() as owner:
        owner.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
        try:
            owner.execute(sql)
            yield role
        finally:
            owner.execute(f"DROP OWNED BY {role}")
            owner.execute(f"DROP ROLE {role}")


def connect_as(role: str) -> psycopg.Connection:
    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or None, user=role, password=PASSWORD, dbname=s["NAME"]
    )


REFUSED_STATEMENTS = {
    "update": "UPDATE compliance_auditevent SET action = 'x'",
    "delete": "DELETE FROM compliance_auditevent",
    "truncate": "TRUNCATE compliance_auditevent",
    "disable the trigger": "ALTER TABLE compliance_auditevent DISABLE TRIGGER compliance_auditevent_append_only",
    "drop the trigger": "DROP TRIGGER compliance_auditevent_append_only ON compliance_auditevent",
}


@pytest.mark.postgres
def test_the_app_role_may_add_and_read_audit_events(app_role):
    with connect_as(app_role) as app, app.transaction(force_rollback=True):
        row = app.execute(
            "INSERT INTO compliance_auditevent (at, actor_label, action, object_type, object_id, object_repr) "
            "VALUES (now(), 'system', 'test.insert', 'user', '', '') RETURNING id"
        ).fetchone()
        assert row[0] > 0
        assert app.execute("SELECT count(*) FROM compliance_auditevent WHERE action = 'test.insert'").fetchone() == (1,)
        app.execute("SELECT count(*) FROM compliance_requirement")  # and the app's other tables
        app.execute("DELETE FROM compliance_learner WHERE false")


@pytest.mark.postgres
@pytest.mark.parametrize("statement", REFUSED_STATEMENTS, ids=list(REFUSED_STATEMENTS))
def test_the_app_role_cannot_change_or_unprotect_the_audit_log(app_role, statement):
    with connect_as(app_role) as app, pytest.raises((errors.InsufficientPrivilege,)):
        app.execute(REFUSED_STATEMENTS[statement])


def test_only_a_plain_role_name_is_accepted():
    with pytest.raises(ValueError, match="not a plain lower-case role name"):
        app_role_sql(role="app; DROP TABLE x", database="techclass")
    assert "GRANT SELECT, INSERT ON TABLE compliance_auditevent TO techclass_app;" in app_role_sql(
        role="techclass_app", database="techclass"
    )


@pytest.mark.postgres
def test_the_command_reports_a_bad_role_name():
    with pytest.raises(CommandError, match="not a plain lower-case role name"):
        printed_sql("app; DROP TABLE x")
