"""The rest of the access matrix, beyond the portal's (test_portal_permissions):

* every URL of the URL conf belongs to a group that a test covers, so a new URL
  cannot escape the matrix;
* the admin, per registered model (change list, add, change, delete, history),
  refuses every role but compliance admins and staff, for GET and POST, and
  changes nothing;
* CSRF is enforced on every state change: the portal's POSTs (HTMX included),
  sign-in, sign-out and the admin;
* deleting a requirement, course or group never deletes a completion or an enrollment.
"""

from __future__ import annotations

import re
import sys
import types

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db.models import ProtectedError
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse
from django.utils import timezone

from compliance.audit import audit_log
from compliance.models import Completion, Enrollment, Learner, LearnerGroup, Requirement
from compliance.requirements import requirement_delete
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)
from tests.test_portal_permissions import EXPECTED, NOT_ALLOWED, portal_url, real_change, state_of_the_world

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"

#: Every route of the URL conf falls in one of these groups; the comment names what covers it.
GROUPS = {
    "portal": re.compile(r"^learning/"),  # test_portal_permissions: EXPECTED, every role and method
    "accounts": re.compile(r"^accounts/(login|logout)/$"),  # below, and test_sign_in
    "admin": re.compile(r"^admin/"),  # below: test_admin_refuses_everyone_but_admins
    "health": re.compile(r"^healthz(/recompute)?$"),  # test_heartbeat, test_portal_permissions
    "home": re.compile(r"^$"),  # a redirect to the dashboard
}


def all_routes(patterns=None, prefix: str = ""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_url_of_the_url_conf_is_covered_by_a_group():
    routes = list(all_routes())
    assert len(routes) > 20
    uncovered = [route for route in routes if not any(group.match(route) for group in GROUPS.values())]
    assert uncovered == [], "URLs no permission test covers: add them to a matrix"


def test_every_admin_route_comes_from_the_admin_site():
    """The admin group is covered by walking the admin site's own URL conf; a view
    mounted under admin/ by other means would escape that walk."""
    admin_site_routes = {"admin/" + route for _, route in _admin_patterns(admin.site.urls[0])}
    under_admin = {route for route in all_routes() if GROUPS["admin"].match(route)}
    assert under_admin - admin_site_routes == set()
    assert len(admin_site_routes) > 80


def test_the_home_page_redirects_to_the_dashboard(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/learning/compliance/")


# --- The admin ------------------------------------------------------------------------------


#: Admin routes that must answer signed-out visitors: the sign-in form, and sign-out
#: (a signed-out visitor is sent to the admin's index). test_sign_in covers both.
ADMIN_PUBLIC = {"login", "logout"}


@pytest.fixture
def one_of_each(admin_user):
    """One stored row of every model the admin registers, so every change,
    delete and history page is requested with a real primary key."""
    from django.contrib.auth.models import Group

    from compliance.models import DigestSnapshot, Notification, RequirementCourseHistory, StatusChange
    from compliance.recompute import recompute

    group = GroupFactory(name="Finance")
    learner = LearnerFactory(email="ana@example.com")
    MembershipFactory(group=group, learner=learner)
    requirement = RequirementFactory(name="GDPR refresher", target_group=group, valid_days=365, warning_days=30)
    CompletionFactory(learner=learner, course=requirement.course)
    EnrollmentFactory(learner=learner, course=requirement.course)
    now = timezone.now()
    RequirementCourseHistory.objects.create(
        requirement=requirement, course=requirement.course, mapped_at=now, swapped_out_at=now
    )
    recompute(requirement_ids=None, trigger="command")  # states and a run
    StatusChange.objects.create(  # a first run writes no history: entries wait in the state rows
        requirement=requirement,
        learner=learner,
        from_status="",
        to_status="compliant",
        changed_on=now.date(),
        recorded_at=now,
    )
    audit_log(actor=None, action="requirement.create", obj=requirement, after={"name": requirement.name})
    Group.objects.create(name="Staff")
    Notification.objects.create(recipient="ana@example.com", kind="enrolled", cycle="c", decided_on="2026-11-28")
    DigestSnapshot.objects.create(requirement=requirement, week="2026-11-23")
    missing = [model._meta.label for model in admin.site._registry if not model._default_manager.exists()]
    assert missing == [], "give these registered models a row here"
    return learner


def _admin_patterns(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _admin_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield pattern.name, prefix + str(pattern.pattern)


def _model_of(route: str):
    app_label, model_name = route.split("/")[:2]
    return apps.get_model(app_label, model_name)


def _filled(name: str | None, route: str) -> str:
    """One concrete path for an admin route: every parameter filled with a real value."""
    if name == "app_list":
        return "compliance/"
    if name == "view_on_site":
        learner = Learner.objects.first()
        return f"r/{ContentType.objects.get_for_model(Learner).pk}/{learner.pk}/"
    if route == "(?P<url>.*)$":  # the admin's final catch-all
        return "nowhere/"
    path = route.removeprefix("^").removesuffix("$")
    for parameter in ("<path:object_id>", "<id>"):
        if parameter in path:
            path = path.replace(parameter, str(_model_of(route)._default_manager.order_by("pk").first().pk))
    if "<" in path or "(?" in path:
        pytest.fail(f"admin route {route!r} ({name}): no filler for its parameters")
    return path


def admin_urls() -> list[str]:
    """Every route of the admin's own URL conf (every registered model's change list,
    add, change, delete, history and any custom view included), with real primary keys."""
    root = reverse("admin:index")
    return sorted(
        root + _filled(name, route) for name, route in _admin_patterns(admin.site.urls[0]) if name not in ADMIN_PUBLIC
    )


def test_the_admin_walk_finds_every_model_page(one_of_each):
    urls = admin_urls()
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pk = model._default_manager.order_by("pk").first().pk
        assert reverse(f"{prefix}_changelist") in urls
        assert {reverse(f"{prefix}_{view}", args=[pk]) for view in ("change", "delete", "history")} <= set(urls)
    assert len(urls) == len(set(urls))


def admin_refusal_problems(client, method: str, role: str) -> list[str]:
    """The admin URLs that did not send ``client`` to the admin's sign-in page."""
    problems = []
    for url in admin_urls():
        data = {"email": "mallory@example.com", "first_name": "M", "last_name": "M", "post": "yes"}
        response = client.get(url) if method == "GET" else client.post(url, data)
        if response.status_code != 302 or not response["Location"].startswith(reverse("admin:login")):
            problems.append(f"{method} {url} as {role}: {response.status_code}")
    return problems


@pytest.mark.parametrize("role", ["anonymous", "outsider", "auditor"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_admin_refuses_everyone_but_admins(client, request, one_of_each, role, method):
    if role != "anonymous":
        client.force_login(request.getfixturevalue({"outsider": "outsider_user", "auditor": "auditor_user"}[role]))
    learners = list(Learner.objects.values_list("pk", "email", "active"))
    assert admin_refusal_problems(client, method, role) == []
    assert list(Learner.objects.values_list("pk", "email", "active")) == learners


def test_admins_may_use_the_admin(admin_client, one_of_each):
    for url in admin_urls():
        response = admin_client.get(url)
        # 403: a read-only model's add page; 302: the old-style change URL, which redirects.
        # 404: the catch-all, and "view on site" (no model of ours has a page outside the admin).
        allowed = (404,) if url.endswith("/nowhere/") or url.startswith("/admin/r/") else (200, 302, 403)
        assert response.status_code in allowed, url


def test_an_admin_view_without_the_permission_wrapper_is_caught(client, one_of_each, monkeypatch, settings):
    """The control: a custom admin URL that forgets ``admin_site.admin_view`` fails the walk."""
    real_get_urls = admin.site.get_urls
    unwrapped = path("compliance/learner/export-all/", lambda request: HttpResponse("every learner"))
    monkeypatch.setattr(admin.site, "get_urls", lambda: [unwrapped, *real_get_urls()])
    urlconf = types.ModuleType("admin_with_an_unwrapped_view")
    urlconf.urlpatterns = [path("admin/", admin.site.urls)]
    monkeypatch.setitem(sys.modules, urlconf.__name__, urlconf)
    settings.ROOT_URLCONF = urlconf.__name__
    assert admin_refusal_problems(client, "GET", "anonymous") == [
        "GET /admin/compliance/learner/export-all/ as anonymous: 200"
    ]


# --- CSRF ----------------------------------------------------------------------------------

STATE_CHANGING_PORTAL_URLS = sorted(name for name, row in EXPECTED.items() if row["admin"]["POST"] != NOT_ALLOWED)


@pytest.fixture
def requirement():
    group = GroupFactory(name="Finance")
    MembershipFactory(group=group, learner=LearnerFactory())
    return RequirementFactory(name="GDPR refresher", target_group=group, valid_days=365, warning_days=30)


@pytest.fixture
def csrf_admin(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


def csrf_token(client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_the_csrf_list_has_the_state_changes():
    assert {"requirement_new", "requirement_settings", "requirement_delete", "requirement_enroll"} <= set(
        STATE_CHANGING_PORTAL_URLS
    )


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize("name", STATE_CHANGING_PORTAL_URLS)
def test_portal_changes_without_a_csrf_token_are_refused(csrf_admin, requirement, name, htmx):
    data = real_change(requirement)
    before = state_of_the_world()
    headers = {"HX-Request": "true"} if htmx else {}
    response = csrf_admin.post(portal_url(name, requirement.pk), data, headers=headers)
    assert response.status_code == 403
    assert state_of_the_world() == before


@pytest.mark.parametrize("name", ["requirement_settings", "requirement_delete", "requirement_enroll"])
def test_the_same_change_with_the_token_in_the_htmx_header_works(csrf_admin, requirement, name):
    """The control: the 403 above is CSRF's (HTMX sends the token in a header)."""
    token = csrf_token(csrf_admin, reverse("requirement_list"))
    before = state_of_the_world()
    response = csrf_admin.post(
        portal_url(name, requirement.pk), real_change(requirement), headers={"X-CSRFToken": token}
    )
    assert response.status_code == 302
    assert state_of_the_world() != before


def test_sign_in_and_sign_out_need_the_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 403
    assert "_auth_user_id" not in client.session
    client.force_login(admin_user)
    assert client.post("/accounts/logout/").status_code == 403
    assert client.session["_auth_user_id"] == str(admin_user.pk)  # still signed in


def test_the_admin_needs_the_token(admin_user):
    admin_user.is_staff = True
    admin_user.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    data = {"email": "new@example.com", "first_name": "New", "last_name": "Person", "active": "on"}
    url = reverse("admin:compliance_learner_add")
    assert client.post(url, data).status_code == 403
    assert not Learner.objects.filter(email="new@example.com").exists()


# --- Evidence is never deleted with its context -------------------------------------------


@pytest.fixture
def evidence():
    course = CourseFactory()
    learner = LearnerFactory()
    group = GroupFactory()
    MembershipFactory(learner=learner, group=group)
    CompletionFactory(learner=learner, course=course)
    EnrollmentFactory(learner=learner, course=course)
    requirement = RequirementFactory(course=course, target_group=group)
    return course, group, requirement


def counts() -> tuple[int, int]:
    return Completion.objects.count(), Enrollment.objects.count()


def test_a_course_with_completions_or_enrollments_cannot_be_deleted(evidence):
    course, _, requirement = evidence
    requirement_delete(actor=None, requirement=requirement)  # else the requirement protects the course first
    with pytest.raises(ProtectedError):
        course.delete()
    assert counts() == (1, 1)


def test_deleting_a_group_keeps_completions_and_enrollments(evidence):
    _, group, requirement = evidence
    requirement_delete(actor=None, requirement=requirement)
    LearnerGroup.objects.filter(pk=group.pk).delete()
    assert counts() == (1, 1)


def test_deleting_a_requirement_keeps_completions_and_enrollments(evidence):
    _, _, requirement = evidence
    requirement_delete(actor=None, requirement=requirement)
    assert not Requirement.objects.exists()
    assert counts() == (1, 1)


def test_deleting_a_learner_with_evidence_is_refused(evidence):
    with pytest.raises(ProtectedError):
        Learner.objects.get().delete()
    assert counts() == (1, 1)
