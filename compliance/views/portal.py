from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from compliance.models import Requirement
from compliance.rules import requirement_status_counts
from compliance.statuses import Status
from compliance.views.access import portal_view


@require_GET
@portal_view
def requirement_list(request):
    """Every requirement with its counts as of today (the full dashboard comes with the portal)."""
    today = timezone.localdate()
    requirements = Requirement.objects.select_related("type", "course", "target_group").prefetch_related(
        "course_history"
    )
    rows = [(requirement, requirement_status_counts(requirement, today)) for requirement in requirements]
    return render(request, "compliance/requirement_list.html", {"rows": rows, "statuses": list(Status), "today": today})
