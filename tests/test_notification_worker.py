"""Sending through a real Celery worker on Redis, writing with the file backend."""

import datetime as dt

import pytest

from compliance.models import Completion, Notification
from compliance.notifications.run import notification_run
from compliance.tasks import send_notifications_task
from techclass.celery import app
from tests.factories import LearnerFactory, RequirementFactory
from tests.pg import wait_until
from tests.test_tasks import real_worker  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mail_dir(tmp_path, monkeypatch):
    """The worker (started after this fixture) writes its emails here."""
    path = tmp_path / "mail"
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    monkeypatch.setenv("EMAIL_FILE_PATH", str(path))
    return path


def test_a_real_worker_sends_the_outbox_rows_it_is_given(mail_dir, real_worker):  # noqa: F811
    requirement = RequirementFactory(name="Fire Safety", notify_learners=True)
    learner = LearnerFactory(email="ada@example.com")
    completed_at = dt.datetime(2020, 1, 10, tzinfo=dt.UTC)
    Completion.objects.create(
        learner=learner, course=requirement.course, completed_at=completed_at, completed_on=completed_at.date()
    )
    notification_run(send=lambda ids: None)
    row = Notification.objects.get()
    app.conf.task_always_eager = False
    try:
        send_notifications_task.apply_async(args=[[row.pk]], queue=real_worker)
    finally:
        app.conf.task_always_eager = True

    wait_until(lambda: Notification.objects.filter(pk=row.pk, state=Notification.State.SENT).exists(), timeout=60)
    files = list(mail_dir.iterdir())
    assert len(files) == 1
    assert "To: ada@example.com" in files[0].read_text()
