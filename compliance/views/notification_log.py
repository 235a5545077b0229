"""The Notifications log, read-only for Admins and Auditors: the whole outbox
(Learning > Notifications) and a requirement's own (its Notifications tab),
filterable and paginated, with a CSV export of the current filters."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import BadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

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
from compliance.views.access import partial_for_htmx, portal_view
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
        links = {
            "export": _with_query(export_url, filters),
            "previous": _with_query(page_url, filters, log.number - 1),
            "next": _with_query(page_url, filters, log.number + 1),
            "current": _with_query(page_url, filters, log.number),
        }
    context = context | {
        "filter_form": form,
        "filtered": filters is not None and filters.any,
        "errors": form.error_list() if filters is None else [],
        "log": log,
        "links": links,
        "page_url": page_url,
        "time_zone": settings.TIME_ZONE,
    }
    template_name = partial_for_htmx(request, template, "results")
    response = render(request, template_name, context)
    if template_name.endswith("#results"):
        push_url(response, links.get("current") or request.get_full_path())
    return response


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


def _with_query(url: str, filters: NotificationFilters, page: int = 1) -> str:
    query = filters.as_query() | ({"page": str(page)} if page > 1 else {})
    return f"{url}?{urlencode(query)}" if query else url
