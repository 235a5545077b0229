"""Enroll and Remediate All, from the Report's Not Started and Expired tabs.

Each is an HTMX POST that answers with what it changed (one row; the whole
results area), and a plain form POST without JavaScript that redirects back to
the report where the admin was. Remediate All confirms first: in a dialog
filled by HTMX, or on its own page without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from compliance.dates import org_today
from compliance.remediation import (
    NotRemediable,
    is_remediable,
    learner_enroll,
    learners_to_enroll,
    requirement_remediate,
)
from compliance.selectors import ReportRow, group_names_of, report_page, requirement_for_page
from compliance.views.access import admin_view
from compliance.views.requirement_pages import ReportLocation, report_context, requirement_context


@admin_view
@require_POST
def requirement_enroll_view(request, pk: int):
    requirement = requirement_for_page(pk)
    here = ReportLocation.from_data(request.POST)
    learner_id = _learner_id(request.POST)
    today = org_today()
    try:
        result = learner_enroll(actor=request.user, requirement=requirement, learner_id=learner_id, today=today)
    except NotRemediable as refusal:
        return _conflict(request, str(refusal), target=f"#enrollment-{learner_id}", back_url=here.url(requirement.pk))
    name = result.row.email
    if not request.htmx:
        messages.success(request, _enroll_message(name, requirement, result.newly_enrolled))
        return redirect(here.url(requirement.pk))
    row = ReportRow(result.row, group_names_of([learner_id]).get(learner_id, []))
    context = {
        "requirement": requirement,
        "row": row,
        "here": here,
        "remediable": True,
        "just_enrolled": result.newly_enrolled,
        "already_enrolled": not result.newly_enrolled,
    }
    response = render(request, "compliance/report.html#report-row", context)
    return reswap(retarget(response, f"#learner-{learner_id}"), "outerHTML")


#: Learner ids are 64-bit; anything outside cannot name a learner.
LEARNER_ID_RANGE = range(1, 2**63)


def _learner_id(data) -> int:
    try:
        learner_id = int(data.get("learner", ""))
    except ValueError:
        learner_id = 0
    if learner_id not in LEARNER_ID_RANGE:
        raise BadRequest("Choose a learner to enroll.")
    return learner_id


def _enroll_message(name: str, requirement, newly_enrolled: bool) -> str:
    if newly_enrolled:
        return f"Enrolled {name} in {requirement.course.code}."
    return f"{name} was already enrolled in {requirement.course.code}; nobody new was enrolled."


@admin_view
@require_http_methods(["GET", "POST"])
def requirement_remediate_view(request, pk: int):
    """GET: the confirmation (the dialog's content for HTMX, a page without
    JavaScript); POST: enroll the tab, counted again now."""
    requirement = requirement_for_page(pk)
    data = request.POST if request.method == "POST" else request.GET
    here = ReportLocation.from_data(data)
    if not is_remediable(here.status):
        raise BadRequest(f"Remediate All applies to the Not Started and Expired tabs, not to {here.status.label}.")
    today = org_today()
    if request.method == "GET":
        return _confirmation(request, requirement, here, today)
    result = requirement_remediate(
        actor=request.user, requirement=requirement, status=here.status, query=here.query, today=today
    )
    messages.success(request, remediation_message(requirement, result.enrolled, here))
    if not request.htmx:
        return redirect(here.url(requirement.pk))
    report = report_page(requirement, today, status=here.status, query=here.query, page=here.page)
    context = report_context(requirement, report, today, refresh_actions=True, refresh_messages=True)
    response = render(request, "compliance/report.html#report", context)
    # The form targets the dialog, so that a refusal is shown there; success replaces the results.
    return reswap(retarget(response, "#report-results"), "outerHTML")


def _confirmation(request, requirement, here: ReportLocation, today):
    to_enroll = learners_to_enroll(requirement, today, status=here.status, query=here.query).count()
    context = requirement_context(requirement, "report") | {
        "today": today,
        "here": here,
        "back_url": here.url(requirement.pk),
        "to_enroll": to_enroll,
        # In the Report's dialog the form swaps the results; on its own page it is a plain POST.
        "in_dialog": bool(request.htmx),
    }
    template = "compliance/remediate_confirm.html"
    return render(request, f"{template}#confirmation" if request.htmx else template, context)


def remediation_message(requirement, enrolled: int, here: ReportLocation) -> str:
    tab = here.status.label
    matching = f" matching “{here.query}”" if here.query else ""
    if enrolled == 0:
        return (
            f"Nobody new to enroll: every {tab} learner{matching} is already enrolled in "
            f"{requirement.course.code}, or there is nobody in this tab."
        )
    learners = "learner" if enrolled == 1 else "learners"
    return f"Enrolled {enrolled} {tab} {learners}{matching} in {requirement.course.code}."


def _conflict(request, message: str, *, target: str, back_url: str):
    """409: the message alone in the learner's row for HTMX, else a page."""
    if request.htmx:
        response = render(request, "errors/error.html#message", {"message": message}, status=409)
        return reswap(retarget(response, target), "innerHTML")
    context = {"title": "Nothing to enroll", "message": message, "back_url": back_url}
    return render(request, "errors/error.html", context, status=409)
