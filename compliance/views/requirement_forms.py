"""New requirement, Settings (with its preview) and delete: Admins only for
every change; Auditors see Settings read-only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from compliance.dates import org_today
from compliance.forms import DeleteRequirementForm, RequirementForm
from compliance.models import REQUIREMENT_NAME_TAKEN
from compliance.notification_forms import NotificationSettingsForm
from compliance.requirements import (
    changes_fingerprint,
    describe_transitions,
    requirement_change_preview,
    requirement_create,
    requirement_delete,
    requirement_update,
)
from compliance.roles import is_compliance_admin
from compliance.selectors import requirement_for_page
from compliance.views.access import admin_view, portal_view
from compliance.views.requirement_pages import requirement_context


@admin_view
@require_http_methods(["GET", "POST"])
def requirement_new(request):
    form = RequirementForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        requirement = _save_or_report(form, lambda: requirement_create(actor=request.user, **form.settings()))
        if requirement is not None:
            messages.success(request, f"Requirement “{requirement.name}” created.")
            return redirect("requirement_overview", requirement.pk)
    return render(request, "compliance/requirement_new.html", {"form": form})


def _save_or_report(form: RequirementForm, save):
    """Run ``save``; a rule the form could not check alone (a name taken a moment
    ago by someone else, a model rule) becomes an error on the form."""
    try:
        return save()
    except ValidationError as error:
        for field, errors in error.update_error_dict({}).items():
            for message in errors:
                form.add_error(_field_of(form, field, message), message)
    except IntegrityError:
        form.add_error("name", REQUIREMENT_NAME_TAKEN)
    return None


def _field_of(form: RequirementForm, field: str, message) -> str | None:
    """The form field an error from the model belongs to: the name constraint's
    error is the name's; an error of a field the form has is that field's."""
    if getattr(message, "code", None) == "name_taken":
        return "name"
    return field if field in form.fields else None


@portal_view
@require_http_methods(["GET", "POST"])
def requirement_settings(request, pk: int):
    requirement = requirement_for_page(pk)
    if request.method == "GET":
        return _render_settings(request, requirement, RequirementForm(instance=requirement))
    if not is_compliance_admin(request.user):
        raise PermissionDenied("Only compliance admins can change settings. Your role can view them.")
    form = RequirementForm(request.POST, instance=requirement)
    if not form.is_valid():
        return _render_settings(request, requirement, form)
    changes = form.settings()
    preview = _preview(requirement, changes)
    if preview["transitions"] and request.POST.get("confirm") != preview["token"]:
        # The change moves learners: show what it does and ask once more.
        return _render_settings(request, requirement, form, preview=preview, confirm_needed=True)
    if _save_or_report(form, lambda: requirement_update(actor=request.user, requirement=requirement, **changes)):
        moved = sum(t.count for t in preview["transitions"])
        messages.success(request, _saved_message(moved))
        return redirect("requirement_overview", requirement.pk)
    return _render_settings(request, requirement, form)


def _saved_message(moved: int) -> str:
    if moved == 0:
        return "Settings saved. No learner moved."
    return f"Settings saved. {moved} learner{'s' if moved != 1 else ''} moved, as previewed."


@admin_view
@require_POST
def requirement_settings_preview(request, pk: int):
    """HTMX, while the admin edits Settings: what the change would do, and the
    confirmation that lets Save Changes apply exactly that change."""
    requirement = requirement_for_page(pk)
    form = RequirementForm(request.POST, instance=requirement)
    preview = _preview(requirement, form.settings()) if form.is_valid() else {"invalid": True}
    return render(request, "compliance/settings.html#preview", {"requirement": requirement, "preview": preview})


def _preview(requirement, changes: dict) -> dict:
    transitions = requirement_change_preview(requirement=requirement, changes=changes, today=org_today())
    return {
        "transitions": transitions,
        "summary": describe_transitions(transitions),
        "token": changes_fingerprint(requirement, changes),
    }


@admin_view
@require_POST
def requirement_delete_view(request, pk: int):
    requirement = requirement_for_page(pk)
    delete_form = DeleteRequirementForm(request.POST, requirement=requirement)
    if not delete_form.is_valid():
        form = RequirementForm(instance=requirement)
        return _render_settings(request, requirement, form, delete_form=delete_form)
    name = requirement.name
    requirement_delete(actor=request.user, requirement=requirement)
    messages.success(request, f"Requirement “{name}” deleted. Its learners' completions and enrollments are kept.")
    return redirect("requirement_list")


def _render_settings(request, requirement, form, *, preview=None, confirm_needed=False, delete_form=None):
    context = requirement_context(requirement, "settings") | {
        "form": form,
        "preview": preview,
        "confirm_needed": confirm_needed,
        "delete_form": delete_form or DeleteRequirementForm(requirement=requirement),
        "notifications_form": NotificationSettingsForm.for_requirement(requirement),
    }
    return render(request, "compliance/settings.html", context)


def render_settings(request, requirement, *, notifications_form, emails_now=None):
    """The Settings page as the Notifications section left it (errors, or the
    "This will email N learners now" confirmation)."""
    context = requirement_context(requirement, "settings") | {
        "form": RequirementForm(instance=requirement),
        "delete_form": DeleteRequirementForm(requirement=requirement),
        "notifications_form": notifications_form,
        "emails_now": emails_now,
    }
    return render(request, "compliance/settings.html", context)
