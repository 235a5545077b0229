"""New requirement, Settings (preview, save) and delete, through the views."""

import datetime as dt
import re

import pytest

from compliance.models import AuditEvent, Completion, Enrollment, Requirement, RequirementType
from compliance.statuses import Status
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    RequirementFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]

NEW = "/learning/compliance/new/"


@pytest.fixture
def course():
    return CourseFactory(code="GDPR-101", title="GDPR Essentials")


def valid_data(course, /, **overrides) -> dict:
    data = {
        "type": RequirementType.objects.get(name="Data & Privacy").pk,
        "name": "Data Privacy",
        "description": "Annual refresher.",
        "valid_days": "365",
        "warning_days": "30",
        "course": course.pk,
        "target_group": "",
    }
    return data | overrides


# --- New requirement --------------------------------------------------------------------


def test_the_create_form_has_every_field_labelled_and_the_spec_names(admin_client, course):
    GroupFactory(name="HR Department")
    html = admin_client.get(NEW).content.decode()
    for name in ("type", "name", "description", "valid_days", "warning_days", "course", "target_group"):
        assert f'name="{name}"' in html and f'<label for="id_{name}">' in html
    assert ">GDPR Essentials</option>" in html and ">HR Department</option>" in html
    assert '<option value="" selected>All Learners</option>' in html
    assert ">Information Security</option>" in html


def test_creating_a_requirement_audits_it_computes_statuses_and_lands_on_its_overview(
    admin_client, course, django_capture_on_commit_callbacks
):
    learner = LearnerFactory()
    CompletionFactory(learner=learner, course=course, day=dt.date(2026, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(NEW, valid_data(course))
    requirement = Requirement.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/learning/compliance/{requirement.pk}/"
    assert (requirement.name, requirement.valid_days, requirement.warning_days) == ("Data Privacy", 365, 30)
    assert requirement.course == course and requirement.target_group is None
    event = AuditEvent.objects.get(action="requirement.create")
    assert event.actor_label == "alice" and event.after["name"] == "Data Privacy"
    assert requirement.states.get().status == Status.COMPLIANT  # the recompute ran after commit
    page = admin_client.get(response["Location"]).content.decode()
    assert "Requirement “Data Privacy” created." in page


def test_a_group_target_is_saved(admin_client, course):
    group = GroupFactory(name="HR Department")
    admin_client.post(NEW, valid_data(course, target_group=group.pk))
    assert Requirement.objects.get().target_group == group


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"valid_days": "0"}, "valid_days", "Valid for must be at least 1 day."),
        ({"valid_days": "-5"}, "valid_days", "Valid for must be at least 1 day."),
        ({"valid_days": "abc"}, "valid_days", "Enter a whole number of days."),
        ({"valid_days": "99999999"}, "valid_days", "Valid for can be at most 36,500 days."),
        ({"valid_days": ""}, "valid_days", "Say how many days a completion stays valid."),
        ({"warning_days": "-1"}, "warning_days", "The warning cannot be negative; use 0 for no warning."),
        ({"warning_days": "365"}, "warning_days", "The warning must be fewer days than the validity (365 days)"),
        ({"warning_days": "400"}, "warning_days", "at most 364"),
        ({"name": "   "}, "name", "Give the requirement a name."),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
        ({"course": ""}, "course", "Choose the course that fulfils this requirement."),
        ({"course": "999999"}, "course", "Choose one of the listed courses."),
        ({"type": ""}, "type", "Choose a type."),
        ({"target_group": "999999"}, "target_group", "Choose All Learners or one of the listed groups."),
    ],
)
def test_invalid_input_is_shown_next_to_its_field_and_nothing_is_created(
    admin_client, course, overrides, field, message
):
    response = admin_client.post(NEW, valid_data(course, **overrides))
    assert response.status_code == 200
    html = response.content.decode()
    error_list = html[html.index(f'id="id_{field}_error"') :]
    assert message in error_list[: error_list.index("</ul>")]
    assert f'aria-describedby="id_{field}_error"' in html and 'aria-invalid="true"' in html
    assert "Please correct the error below." in html
    assert not Requirement.objects.exists() and not AuditEvent.objects.exists()


def test_entered_values_are_kept_when_the_form_is_re_rendered(admin_client, course):
    html = admin_client.post(NEW, valid_data(course, name="Fire drill", warning_days="500")).content.decode()
    assert 'value="Fire drill"' in html and 'value="500"' in html and "Annual refresher.</textarea>" in html


def test_a_name_is_unique_regardless_of_case(admin_client, course):
    RequirementFactory(name="Data Privacy")
    html = admin_client.post(NEW, valid_data(course, name="data privacy")).content.decode()
    assert "A requirement with this name already exists" in html
    assert Requirement.objects.count() == 1


def test_a_name_taken_at_the_same_moment_becomes_a_form_error(admin_client, course, monkeypatch):
    """The form's check passed, then another admin's insert won: the constraint answers."""
    RequirementFactory(name="Data Privacy")
    monkeypatch.setattr("compliance.forms.RequirementForm.clean_name", lambda form: form.cleaned_data["name"])
    response = admin_client.post(NEW, valid_data(course, name="DATA PRIVACY"))
    assert response.status_code == 200
    assert "A requirement with this name already exists" in response.content.decode()
    assert Requirement.objects.count() == 1


# --- Settings -------------------------------------------------------------------------------


@pytest.fixture
def requirement(course):
    """Valid 365 days, warning 30; two compliant learners (completed 200 and 100 days ago), one not started."""
    requirement = RequirementFactory(name="Data Privacy", course=course, valid_days=365, warning_days=30)
    for days_ago in (200, 100):
        CompletionFactory(learner=LearnerFactory(), course=course, day=dt.date(2026, 11, 28) - dt.timedelta(days_ago))
    LearnerFactory()
    return requirement


def settings_url(requirement, suffix: str = "") -> str:
    return f"/learning/compliance/{requirement.pk}/settings/{suffix}"


def settings_data(requirement, /, **overrides) -> dict:
    data = {
        "type": requirement.type_id,
        "name": requirement.name,
        "description": requirement.description,
        "valid_days": str(requirement.valid_days),
        "warning_days": str(requirement.warning_days),
        "course": requirement.course_id,
        "target_group": requirement.target_group_id or "",
    }
    return data | overrides


def test_settings_show_the_current_values(admin_client, requirement):
    html = admin_client.get(settings_url(requirement)).content.decode()
    assert 'name="valid_days" value="365"' in html and 'name="warning_days" value="30"' in html
    assert f'<option value="{requirement.course_id}" selected>GDPR Essentials</option>' in html
    assert "Danger Zone" in html and "Delete Requirement" in html


def test_auditors_see_settings_read_only(client, auditor_user, requirement):
    client.force_login(auditor_user)
    html = client.get(settings_url(requirement)).content.decode()
    assert "only compliance admins can change them" in html and "365 days" in html
    assert '<form method="post" action="/learning/compliance/' not in html
    assert "Delete Requirement" not in html and "Save Changes" not in html


def test_the_preview_says_how_many_learners_move(admin_client, requirement):
    response = admin_client.post(
        settings_url(requirement, "preview/"), settings_data(requirement, valid_days="150", warning_days="0")
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.strip().startswith('<div class="preview-body')
    assert "1 learner would become Expired" in html
    assert 'name="confirm"' in html
    assert Requirement.objects.get().valid_days == 365


def test_the_preview_of_invalid_settings_asks_to_correct_them(admin_client, requirement):
    html = admin_client.post(
        settings_url(requirement, "preview/"), settings_data(requirement, warning_days="900")
    ).content.decode()
    assert "Correct the settings to see their effect." in html and 'name="confirm"' not in html


def test_saving_a_change_that_moves_learners_first_shows_the_preview(admin_client, requirement):
    response = admin_client.post(settings_url(requirement), settings_data(requirement, valid_days="150"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "would become Expired" in html and "Save Changes again to apply" in html
    assert 'value="150"' in html  # what the admin typed is kept
    assert Requirement.objects.get().valid_days == 365
    assert not AuditEvent.objects.filter(action="requirement.update").exists()


def test_saving_with_the_previewed_confirmation_applies_it_to_everyone_at_once(
    admin_client, requirement, django_capture_on_commit_callbacks
):
    data = settings_data(requirement, valid_days="150", warning_days="0")
    token = admin_client.post(settings_url(requirement, "preview/"), data).content.decode()
    token = token.split('name="confirm" value="')[1].split('"')[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(settings_url(requirement), data | {"confirm": token})
    assert response.status_code == 302 and response["Location"] == f"/learning/compliance/{requirement.pk}/"
    requirement.refresh_from_db()
    assert (requirement.valid_days, requirement.warning_days) == (150, 0)
    event = AuditEvent.objects.get(action="requirement.update")
    assert event.before == {"valid_days": 365, "warning_days": 30} and event.after == {
        "valid_days": 150,
        "warning_days": 0,
    }
    page = admin_client.get(response["Location"]).content.decode()
    assert "Settings saved. 1 learner moved, as previewed." in page
    assert requirement.states.filter(status=Status.EXPIRED).count() == 1


def test_a_confirmation_for_another_change_does_not_apply_this_one(admin_client, requirement):
    token = admin_client.post(settings_url(requirement, "preview/"), settings_data(requirement, valid_days="150"))
    token = token.content.decode().split('name="confirm" value="')[1].split('"')[0]
    response = admin_client.post(
        settings_url(requirement), settings_data(requirement, valid_days="50") | {"confirm": token}
    )
    assert response.status_code == 200 and "Save Changes again" in response.content.decode()
    assert Requirement.objects.get().valid_days == 365


def test_a_change_that_moves_nobody_saves_at_once(admin_client, requirement):
    response = admin_client.post(settings_url(requirement), settings_data(requirement, name="Data Privacy 2027"))
    assert response.status_code == 302
    assert Requirement.objects.get().name == "Data Privacy 2027"
    assert "No learner moved." in admin_client.get(response["Location"]).content.decode()


def test_invalid_settings_re_render_with_errors_and_change_nothing(admin_client, requirement):
    RequirementFactory(name="Fire Safety")
    response = admin_client.post(
        settings_url(requirement), settings_data(requirement, name="fire safety", warning_days="365")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "A requirement with this name already exists" in html and "fewer days than the validity" in html
    assert Requirement.objects.get(pk=requirement.pk).name == "Data Privacy"
    assert not AuditEvent.objects.filter(action="requirement.update").exists()


def test_keeping_its_own_name_is_not_a_duplicate(admin_client, requirement):
    response = admin_client.post(settings_url(requirement), settings_data(requirement, description="New text"))
    assert response.status_code == 302 and Requirement.objects.get().description == "New text"


def test_swapping_the_course_keeps_the_old_course_in_the_history(admin_client, requirement):
    new_course = CourseFactory(title="GDPR Essentials (2nd edition)")
    data = settings_data(requirement, course=new_course.pk)
    preview = admin_client.post(settings_url(requirement, "preview/"), data).content.decode()
    confirm = preview.split('name="confirm" value="')[1].split('"')[0] if 'name="confirm"' in preview else ""
    response = admin_client.post(settings_url(requirement), data | {"confirm": confirm})
    assert response.status_code == 302
    requirement.refresh_from_db()
    assert requirement.course == new_course
    assert list(requirement.course_history.values_list("course__code", flat=True)) == ["GDPR-101"]


# --- Delete -----------------------------------------------------------------------------------


def test_delete_needs_the_exact_name_typed(admin_client, requirement):
    response = admin_client.post(f"/learning/compliance/{requirement.pk}/delete/", {"confirm_name": "Data"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "The name you typed does not match" in html and 'aria-describedby="id_confirm_name_error"' in html
    assert Requirement.objects.filter(pk=requirement.pk).exists()


def test_delete_keeps_completions_enrollments_and_learners_and_is_audited(admin_client, requirement, course):
    EnrollmentFactory(learner=LearnerFactory(), course=course)
    counts = (Completion.objects.count(), Enrollment.objects.count())
    response = admin_client.post(f"/learning/compliance/{requirement.pk}/delete/", {"confirm_name": "Data Privacy"})
    assert response.status_code == 302 and response["Location"] == "/learning/compliance/"
    assert not Requirement.objects.exists()
    assert (Completion.objects.count(), Enrollment.objects.count()) == counts == (2, 1)
    event = AuditEvent.objects.get(action="requirement.delete")
    assert event.before["name"] == "Data Privacy" and event.actor_label == "alice"
    assert "deleted" in admin_client.get("/learning/compliance/").content.decode()


def test_a_new_name_after_the_preview_keeps_its_confirmation(admin_client, requirement):
    data = settings_data(requirement, valid_days="150")
    token = admin_client.post(settings_url(requirement, "preview/"), data).content.decode()
    token = token.split('name="confirm" value="')[1].split('"')[0]
    response = admin_client.post(settings_url(requirement), data | {"name": "Data Privacy 2027", "confirm": token})
    assert response.status_code == 302
    assert (Requirement.objects.get().name, Requirement.objects.get().valid_days) == ("Data Privacy 2027", 150)


def test_only_the_status_fields_refresh_the_preview(admin_client, requirement):
    html = admin_client.get(settings_url(requirement)).content.decode()
    assert 'hx-trigger="input delay:400ms from:.affects-status"' in html
    for name in ("valid_days", "warning_days", "course", "target_group"):
        assert re.search(
            rf'<[^>]*name="{name}"[^>]*class="affects-status"|<[^>]*class="affects-status"[^>]*name="{name}"', html
        )
    assert not re.search(r'<[^>]*class="affects-status"[^>]*name="name"', html)
