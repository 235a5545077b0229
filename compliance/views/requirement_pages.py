"""The requirement's Overview and Report tabs (read-only, Admins and Auditors)."""

from django.core.exceptions import BadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from compliance.charts import monthly_completions_chart, status_donut
from compliance.dates import org_today
from compliance.navigation import requirement_tabs
from compliance.rules import monthly_completions, requirement_status_counts
from compliance.selectors import report_page, requirement_for_page
from compliance.statuses import Status
from compliance.views.access import partial_for_htmx, portal_view


def requirement_context(requirement, active_tab: str) -> dict:
    """What the requirement header and its tabs need, on every tab."""
    return {"requirement": requirement, "tabs": requirement_tabs(requirement), "active_tab": active_tab}


@portal_view
@require_GET
def requirement_overview(request, pk: int):
    requirement = requirement_for_page(pk)
    today = org_today()
    counts = requirement_status_counts(requirement, today)
    months = monthly_completions(requirement, today)
    context = requirement_context(requirement, "overview") | {
        "today": today,
        "counts": counts,
        "status_rows": [(status, counts[status]) for status in Status],
        "months": months,
        "donut": status_donut(counts),
        "monthly_chart": monthly_completions_chart(months),
    }
    return render(request, "compliance/overview.html", context)


def report_status(request) -> Status:
    """The ``status`` parameter: a slug, ``compliant`` by default; anything else is a 400."""
    slug = request.GET.get("status") or Status.COMPLIANT.value
    try:
        return Status(slug)
    except ValueError:
        raise BadRequest(f"Unknown status “{slug[:40]}”. Use one of: {', '.join(s.value for s in Status)}.") from None


def report_page_number(request) -> int:
    try:
        return int(request.GET.get("page", "1"))
    except ValueError:
        return 1


@portal_view
@require_GET
@vary_on_headers("HX-Request")
def requirement_report(request, pk: int):
    requirement = requirement_for_page(pk)
    status = report_status(request)
    query = " ".join(request.GET.get("q", "").split())[:200]
    today = org_today()
    report = report_page(requirement, today, status=status, query=query, page=report_page_number(request))
    context = requirement_context(requirement, "report") | {"today": today, "report": report, "statuses": list(Status)}
    return render(request, partial_for_htmx(request, "compliance/report.html", "report"), context)
