from django.shortcuts import render
from django.views.decorators.http import require_GET

from compliance.dates import org_today
from compliance.models import Requirement
from compliance.rules import requirement_status_counts
from compliance.statuses import Status
from compliance.views.access import portal_view


@portal_view
@require_GET
def requirement_list(request):
    """Every requirement with its counts as of today (the full dashboard comes with the portal)."""
    today = org_today()
    requirements = Requirement.objects.select_related("type", "course", "target_group").prefetch_related(
        "course_history"
    )
    rows = [(requirement, requirement_status_counts(requirement, today)) for requirement in requirements]
    return render(request, "compliance/requirement_list.html", {"rows": rows, "statuses": list(Status), "today": today})
