from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from compliance.dates import org_today
from compliance.forms import DashboardFilter
from compliance.selectors import dashboard_cards
from compliance.views.access import partial_for_htmx, portal_view


@portal_view
@require_GET
@vary_on_headers("HX-Request")
def requirement_list(request):
    """The dashboard: a card per requirement with its compliance as of today."""
    filter_form = DashboardFilter(request.GET)
    filters = filter_form.filters()
    cards = dashboard_cards(org_today(), **filters)
    context = {"cards": cards, "filter_form": filter_form, "filtered": bool(filters["type_id"] or filters["name"])}
    return render(request, partial_for_htmx(request, "compliance/dashboard.html", "cards"), context)
