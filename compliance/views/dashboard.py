from django import forms
from django.shortcuts import render
from django.views.decorators.http import require_GET

from compliance.dates import org_today
from compliance.models import RequirementType
from compliance.selectors import dashboard_cards
from compliance.views.access import partial_for_htmx, portal_view


class DashboardFilter(forms.Form):
    type = forms.ModelChoiceField(queryset=RequirementType.objects.all(), required=False, empty_label="All types")
    q = forms.CharField(required=False, label="Search by name", max_length=200)

    def filters(self) -> dict:
        """Valid filters only: a stale or tampered type id shows every type rather than an error."""
        self.is_valid()
        chosen = self.cleaned_data.get("type")
        return {"type_id": chosen.pk if chosen else None, "name": self.cleaned_data.get("q") or ""}


@portal_view
@require_GET
def requirement_list(request):
    """The dashboard: a card per requirement with its compliance as of today."""
    filter_form = DashboardFilter(request.GET)
    filters = filter_form.filters()
    cards = dashboard_cards(org_today(), **filters)
    context = {"cards": cards, "filter_form": filter_form, "filtered": bool(filters["type_id"] or filters["name"])}
    response = render(request, partial_for_htmx(request, "compliance/dashboard.html", "cards"), context)
    response["Vary"] = "HX-Request"
    return response
