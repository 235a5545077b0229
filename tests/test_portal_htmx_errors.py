"""How refusals and expired sessions answer HTMX requests."""

import pytest
from django.test import Client

from tests.factories import RequirementFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_a_refused_htmx_request_shows_its_message_inside_the_target(client, outsider_user):
    client.force_login(outsider_user)
    response = client.get("/learning/compliance/", {"q": "x"}, headers=HTMX)
    assert response.status_code == 403
    assert response["HX-Reswap"] == "innerHTML"  # the target stays, so the page keeps working
    html = response.content.decode()
    assert "<html" not in html and 'role="alert"' in html and "do not have access" in html


def test_a_bad_request_from_htmx_keeps_the_target_too(admin_client):
    requirement = RequirementFactory()
    response = admin_client.get(f"/learning/compliance/{requirement.pk}/report/", {"status": "x"}, headers=HTMX)
    assert response.status_code == 400 and response["HX-Reswap"] == "innerHTML"


def test_an_expired_session_signs_in_back_to_the_page_not_the_fragment(client):
    response = client.post(
        "/learning/compliance/7/settings/preview/",
        headers=HTMX | {"HX-Current-URL": "http://testserver/learning/compliance/7/settings/"},
    )
    assert response["HX-Redirect"] == "/accounts/login/?next=/learning/compliance/7/settings/"


def test_a_current_url_on_another_site_is_ignored(client):
    response = client.get(
        "/learning/compliance/", {"q": "a"}, headers=HTMX | {"HX-Current-URL": "https://evil.example/phish"}
    )
    assert response["HX-Redirect"] == "/accounts/login/?next=/learning/compliance/%3Fq%3Da"


def test_a_csrf_failure_from_htmx_says_to_reload(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    requirement = RequirementFactory()
    response = client.post(f"/learning/compliance/{requirement.pk}/settings/preview/", {}, headers=HTMX)
    assert response.status_code == 403
    html = response.content.decode()
    assert "<html" not in html and "Reload the page" in html


def test_a_csrf_failure_without_htmx_is_a_full_page(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/learning/compliance/new/", {})
    assert response.status_code == 403 and "<html" in response.content.decode()
    assert "Reload the page" in response.content.decode()
