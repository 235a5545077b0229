"""The requirement's Overview and Report tabs (read-only, Admins and Auditors)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.core.exceptions import BadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from compliance.charts import monthly_completions_chart, status_donut
from compliance.dates import org_today
from compliance.navigation import requirement_tabs
from compliance.remediation import is_remediable
from compliance.rules import monthly_completions
from compliance.selectors import ReportPage, report_page, requirement_for_page
from compliance.statuses import Status
from compliance.tallies import status_counts
from compliance.views.access import partial_for_htmx, portal_view


def requirement_context(requirement, active_tab: str) -> dict:
    """What the requirement header and its tabs need, on every tab."""
    return {"requirement": requirement, "tabs": requirement_tabs(requirement), "active_tab": active_tab}


@portal_view
@require_GET
def requirement_overview(request, pk: int):
    requirement = requirement_for_page(pk)
    today = org_today()
    counts = status_counts([requirement], today)[requirement.pk]
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


def parse_status(slug: str) -> Status:
    """A status slug; anything else is a 400 that names the valid ones."""
    try:
        return Status(slug)
    except ValueError:
        raise BadRequest(f"Unknown status “{slug[:40]}”. Use one of: {', '.join(s.value for s in Status)}.") from None


def page_number(data) -> int:
    """The ``page`` parameter; not a number means the first page (the pages clamp the rest)."""
    try:
        return int(data.get("page", "1"))
    except ValueError:
        return 1


def normalized_query(text: str) -> str:
    """The search as the report uses it: trimmed, white space collapsed, at most 200 characters."""
    return " ".join(text.split())[:200]


@dataclass(frozen=True)
class ReportLocation:
    """Where on the Report an admin was (tab, search, page): read from a GET or
    POST, and where a form without JavaScript sends them back to."""

    status: Status
    query: str = ""
    page: int = 1

    @classmethod
    def from_data(cls, data) -> ReportLocation:
        status = parse_status(data.get("status") or Status.COMPLIANT.value)
        return cls(status=status, query=normalized_query(data.get("q", "")), page=page_number(data))

    def url(self, requirement_pk: int) -> str:
        params = {"status": self.status.value} | ({"q": self.query} if self.query else {})
        params |= {"page": self.page} if self.page != 1 else {}
        return f"{reverse('requirement_report', args=[requirement_pk])}?{urlencode(params)}"


@portal_view
@require_GET
@vary_on_headers("HX-Request")
def requirement_report(request, pk: int):
    requirement = requirement_for_page(pk)
    where = ReportLocation.from_data(request.GET)
    today = org_today()
    report = report_page(requirement, today, status=where.status, query=where.query, page=where.page)
    template = partial_for_htmx(request, "compliance/report.html", "report")
    # A swap of the results alone also refreshes the toolbar's actions and
    # clears an earlier message (out of band).
    swap = template.endswith("#report")
    context = report_context(requirement, report, today, refresh_actions=swap, refresh_messages=swap)
    return render(request, template, context)


def report_context(requirement, report: ReportPage, today, **extra) -> dict:
    """What the Report tab and its partials need (the whole tab, the results, one row)."""
    here = ReportLocation(report.status, report.query, report.number)
    return requirement_context(requirement, "report") | {
        "today": today,
        "report": report,
        "statuses": list(Status),
        "here": here,
        "report_url": reverse("requirement_report", args=[requirement.pk]),
        "back_url": here.url(requirement.pk),
        "pager": {
            "previous": replace(here, page=report.number - 1).url(requirement.pk),
            "next": replace(here, page=report.number + 1).url(requirement.pk),
        },
        "remediable": is_remediable(report.status),
        **extra,
    }
