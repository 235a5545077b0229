"""CSV downloads of a requirement's report (interfaces.md, "CSV export"; Admins and Auditors)."""

from django.views.decorators.http import require_GET

from compliance.audit import audit_log
from compliance.dates import org_today
from compliance.export_lines import report_export_file
from compliance.exports import csv_text_response, report_export_filename
from compliance.selectors import requirement_for_page
from compliance.statuses import Status
from compliance.views.access import portal_view
from compliance.views.requirement_pages import normalized_query, parse_status


def export_status(request) -> Status | None:
    """The ``status`` parameter: a slug, or everyone in scope (``None``) when absent or empty; anything else is a 400."""
    slug = request.GET.get("status", "")
    return parse_status(slug) if slug else None


@portal_view
@require_GET
def requirement_export(request, pk: int):
    today = org_today()
    requirement = requirement_for_page(pk)
    status = export_status(request)
    query = normalized_query(request.GET.get("q", ""))
    # Logged before the first byte is sent: a download cut short was still asked for.
    audit_log(
        actor=request.user,
        action="requirement.export",
        obj=requirement,
        after={"status": status.value if status else "all", "q": query},
    )
    return csv_text_response(
        report_export_filename(requirement, status, today),
        report_export_file(requirement, today, status=status, query=query),
    )
