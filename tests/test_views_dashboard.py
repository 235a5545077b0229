"""The dashboard: a card per requirement, filters, the empty state."""

import datetime as dt

import pytest

from compliance.models import RequirementType
from tests.factories import CompletionFactory, CourseFactory, GroupFactory, LearnerFactory, RequirementFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_today")]


URL = "/learning/compliance/"


def card_of(html: str, name: str) -> str:
    """The HTML of the card whose heading is ``name``."""
    start = html.index(f">{name}</a></h2>")
    return html[html.rindex('<article class="card requirement-card">', 0, start) : html.index("</article>", start)]


def test_a_card_shows_type_name_course_target_validity_and_rate(admin_client):
    course = CourseFactory(title="GDPR Essentials")
    legal = RequirementType.objects.get(name="Legal & Financial")
    group = GroupFactory(name="HR Department")
    RequirementFactory(name="Data Privacy", type=legal, course=course, valid_days=365)
    RequirementFactory(name="HR Code", target_group=group, valid_days=180)
    ana, ben, caro, _dev = LearnerFactory.create_batch(4)
    CompletionFactory(learner=ana, course=course, day=dt.date(2026, 6, 1))  # compliant
    CompletionFactory(learner=ben, course=course, day=dt.date(2025, 12, 20))  # expiring soon
    CompletionFactory(learner=caro, course=course, day=dt.date(2025, 1, 1))  # expired; dev not started

    html = admin_client.get(URL).content.decode()

    card = card_of(html, "Data Privacy")
    assert 'class="tag tag-' + legal.colour + '">Legal &amp; Financial</span>' in card
    assert "GDPR Essentials" in card and "All Learners" in card and "365d validity" in card
    assert '<span class="rate-value">50%</span>' in card  # 2 of 4 hold a valid certificate
    assert "2 expired or not started" in card
    assert 'style="width: 50%"' in card
    other = card_of(html, "HR Code")
    assert "HR Department" in other and "180d validity" in other
    assert '<span class="rate-value">—</span>' in other  # nobody in the group: no rate, not 0 %


def test_cards_link_to_the_overview(admin_client):
    requirement = RequirementFactory(name="Fire Safety")
    html = admin_client.get(URL).content.decode()
    assert f'href="/learning/compliance/{requirement.pk}/">Fire Safety</a>' in html


def test_admins_see_the_new_requirement_button_and_auditors_do_not(client, admin_user, auditor_user):
    RequirementFactory()
    client.force_login(admin_user)
    assert 'href="/learning/compliance/new/"' in client.get(URL).content.decode()
    client.force_login(auditor_user)
    assert 'href="/learning/compliance/new/"' not in client.get(URL).content.decode()


def test_filter_by_type_and_search_by_name(admin_client):
    health = RequirementType.objects.get(name="Health & Safety")
    RequirementFactory(name="Fire Safety", type=health)
    RequirementFactory(name="First Aid", type=health)
    RequirementFactory(name="Fire Marshal Duties")

    html = admin_client.get(URL, {"type": health.pk}).content.decode()
    assert "Fire Safety" in html and "First Aid" in html and "Fire Marshal Duties" not in html

    html = admin_client.get(URL, {"q": "  fire "}).content.decode()
    assert "Fire Safety" in html and "Fire Marshal Duties" in html and "First Aid" not in html

    html = admin_client.get(URL, {"q": "fire", "type": health.pk}).content.decode()
    assert "Fire Safety" in html and "First Aid" not in html and "Fire Marshal Duties" not in html


def test_an_unknown_type_filter_shows_every_type(admin_client):
    RequirementFactory(name="Fire Safety")
    response = admin_client.get(URL, {"type": "999999"})
    assert response.status_code == 200 and "Fire Safety" in response.content.decode()


def test_no_match_says_so_and_offers_to_clear_the_filter(admin_client):
    RequirementFactory(name="Fire Safety")
    html = admin_client.get(URL, {"q": "gdpr"}).content.decode()
    assert "No requirement matches" in html and "show all requirements" in html


def test_the_empty_state_leads_to_the_first_requirement(client, admin_user, auditor_user):
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert "No requirements yet" in html and "Create your first requirement" in html
    client.force_login(auditor_user)
    html = client.get(URL).content.decode()
    assert "No requirements yet" in html and "Create your first requirement" not in html


def test_an_htmx_request_gets_only_the_cards(admin_client):
    RequirementFactory(name="Fire Safety")
    response = admin_client.get(URL, {"q": "fire"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.strip().startswith('<section id="cards"') and "<html" not in html
    assert "Fire Safety" in html
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_the_sidebar_shows_admin_links_only_to_staff(client, admin_user, auditor_user):
    client.force_login(auditor_user)
    html = client.get(URL).content.decode()
    assert 'aria-current="page">Compliance</a>' in html and "/admin/compliance/course/" not in html
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    html = client.get(URL).content.decode()
    assert "/admin/compliance/course/" in html and "/admin/compliance/learner/" in html
