"""The audit log, read-only for Admins and Auditors: the whole log (Learning >
Audit log) and a requirement's own (its Audit log tab), each filterable and
paginated, with a CSV export of the current filters (all pages)."""

from __future__ import annotations

from django.core.exceptions import BadRequest
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from compliance.audit import audit_log
from compliance.audit_forms import AuditLogFilter
from compliance.audit_log import (
    AUDIT_EXPORT_HEADER,
    AuditFilters,
    FilterOptions,
    audit_export_filename,
    audit_export_rows,
    audit_log_page,
    filter_events,
    filter_options,
)
from compliance.dates import org_today
from compliance.exports import streaming_csv_response
from compliance.models import AuditEvent
from compliance.selectors import requirement_for_page
from compliance.views.access import portal_view
from compliance.views.filtered_logs import log_links, render_log
from compliance.views.requirement_pages import page_number, requirement_context

AUDIT_LOG_EXPORT = "audit_log.export"


@portal_view
@require_GET
@vary_on_headers("HX-Request")
def audit_log_page_view(request):
    events = AuditEvent.objects.all()
    options = filter_options(events, with_requirements=True)
    return _log_response(
        request,
        events,
        options,
        template="compliance/audit_log.html",
        page_url=reverse("audit_log"),
        export_url=reverse("audit_log_export"),
        context={"nav_key": "audit_log"},
    )


@portal_view
@require_GET
@vary_on_headers("HX-Request")
def requirement_audit_log(request, pk: int):
    requirement = requirement_for_page(pk)
    events = AuditEvent.objects.filter(requirement_id=requirement.pk)
    options = filter_options(events, with_requirements=False)
    return _log_response(
        request,
        events,
        options,
        template="compliance/requirement_audit_log.html",
        page_url=reverse("requirement_audit_log", args=[requirement.pk]),
        export_url=reverse("requirement_audit_log_export", args=[requirement.pk]),
        context=requirement_context(requirement, "audit"),
    )


@portal_view
@require_GET
def audit_log_export(request):
    events = AuditEvent.objects.all()
    filters = _export_filters(request, filter_options(events, with_requirements=True))
    recorded = _audit_export(request, filters)
    rows = audit_export_rows(filter_events(events, filters).filter(pk__lt=recorded.pk))
    return streaming_csv_response(audit_export_filename(org_today()), AUDIT_EXPORT_HEADER, rows)


@portal_view
@require_GET
def requirement_audit_log_export(request, pk: int):
    requirement = requirement_for_page(pk)
    events = AuditEvent.objects.filter(requirement_id=requirement.pk)
    filters = _export_filters(request, filter_options(events, with_requirements=False))
    recorded = _audit_export(request, filters, requirement)
    rows = audit_export_rows(filter_events(events, filters).filter(pk__lt=recorded.pk))
    return streaming_csv_response(audit_export_filename(org_today(), requirement), AUDIT_EXPORT_HEADER, rows)


def _log_response(request, events, options: FilterOptions, *, template: str, page_url: str, export_url: str, context):
    """The page, or for an HTMX request only its results; the address bar gets
    the filters as they were understood (empty ones left out)."""
    form = AuditLogFilter(request.GET, options=options)
    filters = form.filters()
    log, links = None, {}
    if filters is not None:
        global_log = options.requirements is not None
        log = audit_log_page(
            filter_events(events, filters),
            page=page_number(request.GET),
            requirement_names=options.requirement_names() if global_log else None,
        )
        links = log_links(page_url=page_url, export_url=export_url, query=filters.as_query(), number=log.number)
    context = context | {
        "filter_form": form,
        "options": options,
        "filters": filters,
        "filtered": filters is not None and filters.any,
        "errors": form.error_list(),
        "log": log,
        "page_url": page_url,
    }
    return render_log(request, template, context, links)


def _export_filters(request, options: FilterOptions) -> AuditFilters:
    """The export's filters, the page's rules: an invalid one is a 400 saying why,
    never a file of more than was asked for."""
    form = AuditLogFilter(request.GET, options=options)
    filters = form.filters()
    if filters is None:
        problems = " ".join(f"{label}: {message}" if label else message for _, label, message in form.error_list())
        raise BadRequest(f"The audit log was not exported. {problems}")
    return filters


def _audit_export(request, filters: AuditFilters, requirement=None) -> AuditEvent:
    """Who took a copy of the log, and of which part, is itself recorded (before
    the first byte); the file holds what was recorded before this event."""
    return audit_log(
        actor=request.user,
        action=AUDIT_LOG_EXPORT,
        object_type="audit_log",
        object_repr=f"Audit log of {requirement.name}" if requirement else "Audit log",
        requirement_id=requirement.pk if requirement else None,
        after=filters.as_query(),
    )
