"""The Notifications section of a requirement's Settings (Admins only). Turning
``notify_learners`` on first shows how many learners the next nightly run will
email with the settings as posted, and saves only once that is confirmed: a
plain form, with or without JavaScript."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from compliance.notification_forms import NotificationSettingsForm
from compliance.notifications.decisions import learners_to_email_now, next_run_day
from compliance.notifications.preferences import requirement_notifications_update, turns_notifications_on
from compliance.selectors import requirement_for_page
from compliance.views.access import admin_view
from compliance.views.requirement_forms import render_settings


@admin_view
@require_POST
def requirement_notification_settings(request, pk: int):
    requirement = requirement_for_page(pk)
    form = NotificationSettingsForm(request.POST)
    if not form.is_valid():
        return render_settings(request, requirement, notifications_form=form)
    changes = form.settings()
    if turns_notifications_on(requirement, changes):
        count = learners_to_email_now(requirement, today=next_run_day(), changes=changes)
        # The admin confirms the number they saw; a different number now asks again.
        if request.POST.get("confirm_emails") != str(count):
            return render_settings(request, requirement, notifications_form=form, emails_now=count)
    changed = requirement_notifications_update(actor=request.user, requirement=requirement, **changes)
    messages.success(request, "Notification settings saved." if changed else "Notification settings unchanged.")
    return redirect("requirement_settings", requirement.pk)
