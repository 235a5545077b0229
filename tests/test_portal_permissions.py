"""The permission matrix of the portal (interfaces.md, "Roles").

Every named URL under ``learning/`` is found by walking the URL conf, so a new
portal URL fails ``test_every_portal_url_has_expectations`` until it has a row
in ``EXPECTED``. Each URL is then requested by each actor with GET and POST.

Actors: anonymous, ``outsider`` (charlie, signed in, no role), ``auditor``
(bob) and ``admin`` (alice). Anonymous users are always sent to sign in and
outsiders always get 403, so the table only says what auditors and admins get.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from compliance.models import AuditEvent, Enrollment, Requirement, RequirementCourseHistory, RequirementType
from compliance.rules import scope_learners
from tests.factories import CourseFactory, GroupFactory, LearnerFactory, MembershipFactory, RequirementFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"
PORTAL_PREFIX = "learning/"


@dataclass(frozen=True)
class Expect:
    """What one role gets from one method: a status code and, for a 200, text the page must show."""

    status: int
    shows: str = ""


OK = Expect(200)
FORBIDDEN = Expect(403)
NOT_ALLOWED = Expect(405)

#: Pages and downloads that every role of the portal may read.
READ_ONLY = {"auditor": {"GET": OK, "POST": NOT_ALLOWED}, "admin": {"GET": OK, "POST": NOT_ALLOWED}}

#: url name -> role -> method -> expectation. Admin POSTs send a blank form (every
#: field empty, as a browser sends it); see ``test_admin_post_with_a_real_change_does_change``
#: for the payloads that work.
EXPECTED: dict[str, dict[str, dict[str, Expect]]] = {
    "requirement_list": {
        "auditor": {"GET": OK, "POST": NOT_ALLOWED},
        "admin": {"GET": OK, "POST": NOT_ALLOWED},
    },
    "requirement_new": {
        "auditor": {"GET": FORBIDDEN, "POST": FORBIDDEN},
        "admin": {"GET": OK, "POST": Expect(200, "Give the requirement a name.")},
    },
    "requirement_overview": {
        "auditor": {"GET": OK, "POST": NOT_ALLOWED},
        "admin": {"GET": OK, "POST": NOT_ALLOWED},
    },
    "requirement_report": {
        "auditor": {"GET": OK, "POST": NOT_ALLOWED},
        "admin": {"GET": OK, "POST": NOT_ALLOWED},
    },
    "requirement_settings": {
        "auditor": {"GET": Expect(200, "only compliance admins can change them"), "POST": FORBIDDEN},
        "admin": {"GET": Expect(200, 'name="confirm_name"'), "POST": Expect(200, "Give the requirement a name.")},
    },
    "requirement_settings_preview": {
        "auditor": {"GET": FORBIDDEN, "POST": FORBIDDEN},
        "admin": {"GET": NOT_ALLOWED, "POST": Expect(200, "Correct the settings to see their effect.")},
    },
    "requirement_delete": {
        "auditor": {"GET": FORBIDDEN, "POST": FORBIDDEN},
        "admin": {"GET": NOT_ALLOWED, "POST": Expect(200, 'id="id_confirm_name_error"')},
    },
    "requirement_export": READ_ONLY,
    "requirement_enroll": {
        "auditor": {"GET": FORBIDDEN, "POST": FORBIDDEN},
        "admin": {"GET": NOT_ALLOWED, "POST": Expect(400, "Choose a learner to enroll.")},
    },
    "requirement_remediate": {
        "auditor": {"GET": FORBIDDEN, "POST": FORBIDDEN},
        # A blank form asks for the Compliant tab, which Remediate All does not apply to.
        "admin": {
            "GET": Expect(400, "applies to the Not Started and Expired tabs"),
            "POST": Expect(400, "applies to the Not Started and Expired tabs"),
        },
    },
    "audit_log": READ_ONLY,
    "audit_log_export": READ_ONLY,
    "requirement_audit_log": READ_ONLY,
    "requirement_audit_log_export": READ_ONLY,
    "notification_log": READ_ONLY,
    "notification_log_export": READ_ONLY,
    "requirement_notification_log": READ_ONLY,
    "requirement_notification_log_export": READ_ONLY,
    "requirement_notification_settings": {
        "auditor": {"GET": FORBIDDEN, "POST": FORBIDDEN},
        "admin": {"GET": NOT_ALLOWED, "POST": Expect(200, "Say how many days apart reminders go")},
    },
}

ROLES = ("anonymous", "outsider", "auditor", "admin")
METHODS = ("GET", "POST")
ROLE_FIXTURES = {"outsider": "outsider_user", "auditor": "auditor_user", "admin": "admin_user"}


# --- The URL conf -----------------------------------------------------------------------

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield pattern.name, prefix + str(pattern.pattern)


def portal_route_list() -> list[tuple[str | None, str]]:
    """(name, route) of every URL whose path starts with ``learning/``, unnamed ones included."""
    return [(name, route) for name, route in _walk(get_resolver().url_patterns) if route.startswith(PORTAL_PREFIX)]


def portal_routes() -> dict[str, str]:
    """Name -> route of every named portal URL (``test_every_portal_url_has_one_name_of_its_own``
    makes sure none is unnamed or shares its name)."""
    return {name: route for name, route in portal_route_list() if name}


PORTAL_ROUTES = portal_routes()
PORTAL_NAMES = sorted(PORTAL_ROUTES)


def portal_url(name: str, pk: int) -> str:
    """The URL of ``name`` with every ``<int:pk>`` filled with ``pk``; any other parameter needs a filler here."""
    kwargs = {}
    for match in PARAMETER.finditer(PORTAL_ROUTES[name]):
        if (match["converter"], match["name"]) != ("int", "pk"):
            pytest.fail(f"{name}: no filler for the URL parameter {match[0]} in {PORTAL_ROUTES[name]!r}")
        kwargs["pk"] = pk
    return reverse(name, kwargs=kwargs)


def takes_pk(name: str) -> bool:
    return "<int:pk>" in PORTAL_ROUTES[name]


# --- Fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def requirement(db):
    group = GroupFactory(name="Finance")
    MembershipFactory(group=group, learner=LearnerFactory())
    return RequirementFactory(name="GDPR refresher", target_group=group, valid_days=365, warning_days=30)


BLANK_FORM = dict.fromkeys(
    ["type", "name", "description", "valid_days", "warning_days", "course", "target_group", "confirm_name"], ""
)


def real_change(requirement: Requirement) -> dict[str, str]:
    """POST data that an admin's request would act on: a valid new requirement or
    settings change, the right name to confirm a delete, and a Not Started
    learner to enroll (or their tab to remediate)."""
    other_course = CourseFactory(title="Another course")
    return {
        "type": str(RequirementType.objects.exclude(pk=requirement.type_id).first().pk),
        "name": "Renamed by someone without the right",
        "description": "changed",
        "valid_days": "100",
        "warning_days": "10",
        "course": str(other_course.pk),
        "target_group": "",
        "confirm_name": requirement.name,
        "learner": str(scope_learners(requirement).get().pk),
        "status": "not_started",
        "reminder_every_days": "3",
        "reminder_max": "2",
    }


def state_of_the_world() -> dict:
    """Everything a portal request could change. Audit events of reads (exports)
    are left out: recording who took the evidence is not a change."""
    return {
        "requirements": [model_to_dict(r) | {"updated_at": r.updated_at} for r in Requirement.objects.order_by("pk")],
        "course_history": RequirementCourseHistory.objects.count(),
        "enrollments": list(Enrollment.objects.values_list("pk", "learner_id", "course_id", "completed_at")),
        "audit_events": AuditEvent.objects.exclude(action__endswith=".export").count(),
    }


def sign_in(client, request, role: str):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(ROLE_FIXTURES[role]))


def send(client, method: str, url: str, data=None, **kwargs):
    return client.get(url, **kwargs) if method == "GET" else client.post(url, data or {}, **kwargs)


def expected_for(name: str, role: str, method: str) -> Expect:
    if name not in EXPECTED:
        pytest.fail(f"{name} has no row in EXPECTED")
    if role == "outsider":
        return FORBIDDEN
    return EXPECTED[name][role][method]


# --- The matrix -------------------------------------------------------------------------


def test_every_portal_url_has_one_name_of_its_own():
    """The matrix finds URLs by name: an unnamed URL, or a second URL under a taken name, would escape it."""
    routes = portal_route_list()
    assert [route for name, route in routes if not name] == [], "unnamed portal URLs: name them"
    names = [name for name, _ in routes]
    assert sorted({name for name in names if names.count(name) > 1}) == [], "portal URLs sharing a name"


def test_every_portal_url_has_expectations():
    assert PORTAL_NAMES, "no named URL under learning/ was found"
    missing = set(PORTAL_NAMES) - set(EXPECTED)
    assert not missing, f"portal URLs without a row in EXPECTED: {sorted(missing)}"
    stale = set(EXPECTED) - set(PORTAL_NAMES)
    assert not stale, f"rows in EXPECTED for URLs that no longer exist: {sorted(stale)}"
    for name, by_role in EXPECTED.items():
        assert set(by_role) == {"auditor", "admin"}, name
        for role, by_method in by_role.items():
            assert set(by_method) == set(METHODS), (name, role)


def test_the_walk_finds_the_portal_urls_of_the_spec():
    """A guard on the walk itself: the pages of interfaces.md are among what it finds."""
    assert {
        "requirement_list",
        "requirement_new",
        "requirement_overview",
        "requirement_report",
        "requirement_settings",
    } <= set(PORTAL_NAMES)
    assert "healthz" not in PORTAL_NAMES


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PORTAL_NAMES)
def test_permission_matrix(client, request, requirement, name, role, method):
    url = portal_url(name, requirement.pk)
    sign_in(client, request, role)
    # Unprivileged actors send a change that would work for an admin; admins send a blank form.
    data = BLANK_FORM if role == "admin" else real_change(requirement)
    before = state_of_the_world()

    response = send(client, method, url, data)

    if role == "anonymous":
        assert response.status_code == 302, f"{method} {url} as anonymous"
        assert response["Location"] == f"{LOGIN_URL}?next={url}"
    else:
        expect = expected_for(name, role, method)
        assert response.status_code == expect.status, f"{method} {url} as {role}"
        if expect.shows:
            assert expect.shows in response.content.decode()
    assert state_of_the_world() == before, f"{method} {url} as {role} changed something"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", PORTAL_NAMES)
def test_anonymous_htmx_requests_get_an_hx_redirect_to_sign_in(client, requirement, name, method):
    url = portal_url(name, requirement.pk)
    before = state_of_the_world()
    response = send(client, method, url, real_change(requirement), headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == f"{LOGIN_URL}?next={url}"
    assert state_of_the_world() == before


def test_the_sign_in_redirect_keeps_the_query_string(client, requirement):
    url = reverse("requirement_report", args=[requirement.pk]) + "?status=expired&q=ann"
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == LOGIN_URL
    assert parse_qs(location.query) == {"next": [url]}


@pytest.mark.parametrize("role", ["outsider", "auditor"])
@pytest.mark.parametrize(
    "name", [n for n in PORTAL_NAMES if n in EXPECTED and EXPECTED[n]["admin"]["POST"] != NOT_ALLOWED]
)
def test_unprivileged_htmx_posts_change_nothing(client, request, requirement, name, role):
    """The same refusals for HTMX requests (the previews are HTMX POSTs)."""
    sign_in(client, request, role)
    before = state_of_the_world()
    response = client.post(portal_url(name, requirement.pk), real_change(requirement), headers={"HX-Request": "true"})
    assert response.status_code == 403
    assert state_of_the_world() == before


@pytest.mark.parametrize(
    ("name", "then"),
    [
        ("requirement_new", lambda: Requirement.objects.filter(name="Renamed by someone without the right").exists()),
        ("requirement_settings", lambda: Requirement.objects.get().valid_days == 100),
        ("requirement_delete", lambda: not Requirement.objects.exists()),
        ("requirement_enroll", lambda: Enrollment.objects.filter(source="remediation").count() == 1),
        ("requirement_remediate", lambda: Enrollment.objects.filter(source="remediation").count() == 1),
        ("requirement_notification_settings", lambda: Requirement.objects.get().reminder_every_days == 3),
    ],
)
def test_admin_post_with_a_real_change_does_change(client, admin_user, requirement, name, then):
    """The payload the matrix sends for unprivileged actors works for an admin,
    so the matrix's "nothing changed" can fail."""
    client.force_login(admin_user)
    audit_events = AuditEvent.objects.count()
    response = client.post(portal_url(name, requirement.pk), real_change(requirement))
    assert response.status_code == 302
    assert then()
    assert AuditEvent.objects.count() > audit_events


@pytest.mark.parametrize("name", ["requirement_new", "requirement_settings"])
def test_a_post_without_any_field_shows_the_errors(client, admin_user, requirement, name):
    """A POST with an empty body is a submitted form too: the page says what is missing."""
    client.force_login(admin_user)
    before = state_of_the_world()
    response = client.post(portal_url(name, requirement.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Please correct the" in html
    assert "Give the requirement a name." in html
    assert state_of_the_world() == before


# --- The rest of the access rules ---------------------------------------------------------


def test_healthz_needs_no_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content.decode().startswith("ok")


def test_an_unknown_status_is_a_400_with_a_message(client, admin_user, requirement):
    client.force_login(admin_user)
    response = client.get(reverse("requirement_report", args=[requirement.pk]), {"status": "bogus"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown status" in html
    assert "bogus" in html
    assert "not_started" in html


def test_an_unknown_status_in_an_htmx_request_is_the_message_alone(client, admin_user, requirement):
    client.force_login(admin_user)
    response = client.get(
        reverse("requirement_report", args=[requirement.pk]), {"status": "bogus"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown status" in html
    assert "<html" not in html


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", [n for n in PORTAL_NAMES if takes_pk(n)])
def test_an_unknown_requirement_is_a_404_for_an_admin(client, admin_user, requirement, name, method):
    client.force_login(admin_user)
    missing = Requirement.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    response = send(client, method, portal_url(name, missing))
    # A method the URL does not take is refused before the requirement is looked up.
    allowed = expected_for(name, "admin", method) != NOT_ALLOWED
    assert response.status_code == (404 if allowed else 405)
    if allowed:
        assert "There is nothing at this address" in response.content.decode()


@pytest.mark.parametrize("name", [n for n in PORTAL_NAMES if takes_pk(n)])
def test_an_unknown_requirement_is_still_a_403_for_an_outsider(client, outsider_user, requirement, name):
    """Outsiders cannot tell which requirement ids exist."""
    client.force_login(outsider_user)
    assert client.get(portal_url(name, requirement.pk + 1000)).status_code == 403


def test_a_403_for_an_htmx_request_is_the_message_fragment(client, outsider_user, requirement):
    client.force_login(outsider_user)
    response = client.get(reverse("requirement_report", args=[requirement.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "<html" not in html
    assert 'role="alert"' in html
    assert "You do not have access to the compliance portal." in html


def test_a_refused_htmx_change_by_an_auditor_shows_why_in_place(client, auditor_user, requirement):
    client.force_login(auditor_user)
    response = client.post(
        reverse("requirement_settings_preview", args=[requirement.pk]),
        real_change(requirement),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "<html" not in html
    assert "Only compliance admins can make changes." in html


def test_a_403_without_htmx_is_a_full_page(client, outsider_user, requirement):
    client.force_login(outsider_user)
    response = client.get(reverse("requirement_overview", args=[requirement.pk]))
    assert response.status_code == 403
    html = response.content.decode()
    assert "<html" in html
    assert "You do not have access to the compliance portal." in html
