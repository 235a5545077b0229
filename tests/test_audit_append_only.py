"""The audit log is append-only: PostgreSQL's trigger refuses UPDATE and DELETE
of its rows from any client; the model refuses them on every database."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from compliance.audit import audit_log
from compliance.models import AuditEvent, AuditLogIsAppendOnly

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_log(actor=None, action="requirement.update", object_type="requirement", object_id=1, after={"a": 1})


def test_saving_a_stored_event_again_is_refused(event):
    event.action = "requirement.create"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    assert AuditEvent.objects.get().action == "requirement.update"


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    assert AuditEvent.objects.count() == 1


def test_bulk_update_and_delete_are_refused(event):
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditLogIsAppendOnly), transaction.atomic():  # bulk_update's own atomic has no savepoint
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get().action == "requirement.update"


def test_new_events_are_still_written(event):
    audit_log(actor=None, action="requirement.update", object_type="requirement", object_id=1, after={"a": 2})
    assert AuditEvent.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE compliance_auditevent SET action = 'forged' WHERE id = %s",
        "UPDATE compliance_auditevent SET after = '{}'::jsonb WHERE id = %s",
        "DELETE FROM compliance_auditevent WHERE id = %s",
    ],
)
def test_postgresql_refuses_changes_from_any_client(event, sql):
    """Raw SQL, as a psql session or a bug bypassing the model would send it."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get().action == "requirement.update"
    assert AuditEvent.objects.get().after == {"a": 1}


def test_the_admin_offers_no_change_or_delete(client, admin_user, event):
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    change_url = reverse("admin:compliance_auditevent_change", args=[event.pk])
    assert client.get(change_url).status_code == 200
    assert client.post(change_url, {"action": "forged"}).status_code == 403
    assert (
        client.post(reverse("admin:compliance_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    assert AuditEvent.objects.filter(action="requirement.update").count() == 1
