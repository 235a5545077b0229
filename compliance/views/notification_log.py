"""The Notifications log, read-only for Admins and Auditors: the whole outbox
(Learning > Notifications) and a requirement's own (its Notifications tab),
filterable and paginated, with a CSV export of the current filters."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from compliance.audit import audit_log
from compliance.dates import org_today
from compliance.exports import streaming_csv_response
from compliance.models import Notification
from compliance.notification_forms import NotificationLogFilter
from compliance.notifications.log import (
    EXPORT_HEADER,
    NotificationFilters,
    export_filename,
    export_rows,
    filter_notifications,
    notification_log_page,
    requirement_choices,
)
from compliance.selectors import requirement_for_page
from compliance.views.access import portal_view
from compliance.views.filtered_logs import log_links, render_log
from compliance.views.requirement_pages import page_number, requirement_context

NOTIFICATION_LOG_EXPORT = "notification_log.export"


@portal_view
@require_GET
@vary_on_headers("HX-Request")
def notification_log(request):
    form = NotificationLogFilter(request.GET, requirements=requirement_choices())
    return _log_response(
        request,
        Notification.objects.all(),
        form,
        template="compliance/notification_log.html",
        page_url=reverse("notification_log"),
        export_url=reverse("notification_log_export"),
        context={"nav_key": "notifications", "global_log": True},
    )


@portal_view
@require_GET
@vary_on_headers("HX-Request")
def requirement_notification_log(request, pk: int):
    requirement = requirement_for_page(pk)
    form = NotificationLogFilter(request.GET, requirements=None)
    return _log_response(
        request,
        Notification.objects.filter(requirement_id=requirement.pk),
        form,
        template="compliance/requirement_notification_log.html",
        page_url=reverse("requirement_notification_log", args=[requirement.pk]),
        export_url=reverse("requirement_notification_log_export", args=[requirement.pk]),
        context=requirement_context(requirement, "notifications"),
    )


@portal_view
@require_GET
def notification_log_export(request):
    filters = _export_filters(NotificationLogFilter(request.GET, requirements=requirement_choices()))
    _record_export(request, filters)
    rows = filter_notifications(Notification.objects.all(), filters)
    return streaming_csv_response(export_filename(org_today()), EXPORT_HEADER, export_rows(rows))


@portal_view
@require_GET
def requirement_notification_log_export(request, pk: int):
    requirement = requirement_for_page(pk)
    filters = _export_filters(NotificationLogFilter(request.GET, requirements=None))
    _record_export(request, filters, requirement)
    rows = filter_notifications(Notification.objects.filter(requirement_id=requirement.pk), filters)
    return streaming_csv_response(export_filename(org_today(), requirement), EXPORT_HEADER, export_rows(rows))


def _log_response(request, rows, form: NotificationLogFilter, *, template, page_url, export_url, context):
    filters = form.filters()
    log, links = None, {}
    if filters is not None:
        log = notification_log_page(filter_notifications(rows, filters), page=page_number(request.GET))
        links = log_links(page_url=page_url, export_url=export_url, query=filters.as_query(), number=log.number)
    context = context | {
        "filter_form": form,
        "filtered": filters is not None and filters.any,
        "errors": form.error_list() if filters is None else [],
        "log": log,
        "page_url": page_url,
    }
    return render_log(request, template, context, links)


def _export_filters(form: NotificationLogFilter) -> NotificationFilters:
    filters = form.filters()
    if filters is None:
        raise BadRequest("The notifications log was not exported. " + " ".join(form.error_list()))
    return filters


def _record_export(request, filters: NotificationFilters, requirement=None) -> None:
    audit_log(
        actor=request.user,
        action=NOTIFICATION_LOG_EXPORT,
        object_type="notification_log",
        object_repr=f"Notifications of {requirement.name}" if requirement else "Notifications",
        requirement_id=requirement.pk if requirement else None,
        after=filters.as_query(),
    )
