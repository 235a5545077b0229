"""The Report's CSV export (interfaces.md, "CSV export") through its view."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.http import StreamingHttpResponse

from compliance.dates import org_day_start
from compliance.models import AuditEvent, Completion, Learner, Membership
from compliance.selectors import group_names_of
from compliance.statuses import Status
from tests.factories import (
    CompletionFactory,
    CourseFactory,
    EnrollmentFactory,
    GroupFactory,
    LearnerFactory,
    MembershipFactory,
    RequirementFactory,
)
from tests.worked_example import worked_example

pytestmark = [pytest.mark.django_db]

TODAY = dt.date(2026, 11, 28)
HEADER = (
    "requirement,email,first_name,last_name,groups,status,last_completed_on,expires_on,days_left,enrolled_on,progress"
)


@pytest.fixture
def requirement(frozen_today):
    """The worked example of compliance-rules.md (tests/worked_example.py)."""
    return worked_example()


def url(requirement) -> str:
    return f"/learning/compliance/{requirement.pk}/report/export.csv"


def export(client, requirement, **params):
    return client.get(url(requirement), params)


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def parse(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def exported(client, requirement, **params) -> list[dict[str, str]]:
    response = export(client, requirement, **params)
    assert response.status_code == 200
    return parse(content(response))


def column(rows, name: str) -> list[str]:
    return [row[name] for row in rows]


def learners(n: int, course, **fields) -> list[Learner]:
    """``n`` learners (``l0000@example.com``…) in one INSERT, each with a completion of ``course``
    120 days before today (Compliant at 365/30 days) and a group."""
    people = Learner.objects.bulk_create(
        Learner(email=f"l{i:04d}@example.com", first_name=f"First{i}", last_name=f"Last{i:04d}", **fields)
        for i in range(n)
    )
    day = TODAY - dt.timedelta(days=120)
    Completion.objects.bulk_create(
        Completion(learner=person, course=course, completed_at=org_day_start(day), completed_on=day)
        for person in people
    )
    group = GroupFactory(name="Everyone")
    Membership.objects.bulk_create(Membership(learner=person, group=group) for person in people)
    return people


# --- The file ---------------------------------------------------------------------------


def test_the_file_starts_with_a_bom_then_the_exact_header_and_every_line_ends_with_crlf(admin_client, requirement):
    data = content(export(admin_client, requirement))

    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")
    assert len(lines) == 1 + 7 + 1  # header, seven learners in scope, nothing after the last CRLF
    assert all(b"\n" not in line and b"\r" not in line for line in lines)


def test_everyone_in_scope_with_their_facts_in_report_order(admin_client, requirement):
    data = content(export(admin_client, requirement)).decode("utf-8-sig")

    assert data.split("\r\n") == [
        HEADER,
        "Data Privacy,ana@example.com,Ana,Alves,,Compliant,2026-03-01,2027-03-01,93,,",
        "Data Privacy,ben@example.com,Ben,Brown,,Expiring Soon,2025-12-20,2026-12-20,22,,",
        "Data Privacy,caro@example.com,Caro,Costa,,Expired,2025-11-28,2026-11-28,0,,",
        "Data Privacy,dev@example.com,Dev,Diaz,,In Progress,2025-06-01,2026-06-01,-180,2026-11-20,40",
        "Data Privacy,eve@example.com,Eve,Evans,,Expiring Soon,2025-12-25,2026-12-25,27,2026-11-26,10",
        "Data Privacy,finn@example.com,Finn,Fox,HR Department; Sales,Not Started,,,,2026-11-01,0",
        "Data Privacy,gus@example.com,Gus,Green,,Not Started,,,,,",
        "",
    ]  # Hana Hill, deactivated, is not there


@pytest.mark.parametrize(
    ("status", "emails"),
    [
        ("compliant", ["ana@example.com"]),
        ("expiring_soon", ["ben@example.com", "eve@example.com"]),
        ("expired", ["caro@example.com"]),
        ("in_progress", ["dev@example.com"]),
        ("not_started", ["finn@example.com", "gus@example.com"]),
    ],
)
def test_a_status_exports_only_that_tab(admin_client, requirement, status, emails):
    rows = exported(admin_client, requirement, status=status)

    assert column(rows, "email") == emails
    assert set(column(rows, "status")) == {Status(status).label}


def test_an_empty_status_exports_everyone_in_scope(admin_client, requirement):
    assert len(exported(admin_client, requirement, status="")) == 7


def test_the_search_keeps_learners_matching_every_term(admin_client, requirement):
    LearnerFactory(first_name="Eve", last_name="Other", email="eve.other@corp.test")

    assert column(exported(admin_client, requirement, q="  EVE  example "), "email") == ["eve@example.com"]
    assert column(exported(admin_client, requirement, q="eve"), "email") == ["eve@example.com", "eve.other@corp.test"]
    assert column(exported(admin_client, requirement, q="eve corp", status="not_started"), "email") == [
        "eve.other@corp.test"
    ]
    assert exported(admin_client, requirement, q="eve corp", status="compliant") == []


def test_rows_are_sorted_by_last_name_first_name_and_email_regardless_of_case_then_id(admin_client, frozen_today):
    requirement = RequirementFactory()
    LearnerFactory(first_name="anna", last_name="smith", email="b@example.com")
    LearnerFactory(first_name="Anna", last_name="SMITH", email="A@example.com")
    LearnerFactory(first_name="Zoe", last_name="adams", email="z@example.com")
    LearnerFactory(first_name="bob", last_name="Smith", email="c@example.com")
    LearnerFactory(first_name="Bob", last_name="smith", email="C2@example.com")

    assert column(exported(admin_client, requirement), "email") == [
        "z@example.com",
        "a@example.com",
        "b@example.com",
        "c2@example.com",
        "c@example.com",
    ]


# --- Dates and days left across the boundaries -------------------------------------------


@pytest.mark.parametrize(
    ("today", "status", "days_left"),
    [
        (dt.date(2026, 10, 28), "Compliant", "31"),  # the day before warn_on
        (dt.date(2026, 10, 29), "Expiring Soon", "30"),  # warn_on
        (dt.date(2026, 10, 30), "Expiring Soon", "29"),  # the day after
        (dt.date(2026, 11, 27), "Expiring Soon", "1"),  # the day before expires_on
        (dt.date(2026, 11, 28), "Expired", "0"),  # expires_on
        (dt.date(2026, 11, 29), "Expired", "-1"),  # the day after
    ],
)
def test_dates_and_days_left_around_warn_on_and_expires_on(client, admin_user, today, status, days_left):
    requirement = RequirementFactory(valid_days=365, warning_days=30)
    CompletionFactory(course=requirement.course, day=dt.date(2025, 11, 28))  # warn_on 2026-10-29, expires 2026-11-28

    with time_machine.travel(dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC), tick=False):
        client.force_login(admin_user)
        response = export(client, requirement)
        [row] = parse(content(response))

    assert (row["status"], row["days_left"]) == (status, days_left)
    assert (row["last_completed_on"], row["expires_on"]) == ("2025-11-28", "2026-11-28")
    assert response["Content-Disposition"].endswith(f'-all-{today.isoformat()}.csv"')


def test_enrolled_on_is_the_organisations_day(admin_client, requirement, settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # 13 hours ahead of UTC in November
    learner = LearnerFactory(first_name="Ida", last_name="Ito", email="ida@example.com")
    EnrollmentFactory(
        learner=learner, course=requirement.course, enrolled_at=dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    )

    [row] = exported(admin_client, requirement, q="ida")

    assert row["enrolled_on"] == "2026-11-21"  # 01:00 on the 21st in Auckland


# --- Text cells ------------------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\tTab", "\rReturn"]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_cell_that_starts_like_a_formula_gets_a_leading_quote(admin_client, frozen_today, text):
    requirement = RequirementFactory(name=text + " training")
    learner = LearnerFactory(first_name=text, last_name=text, email="formula@example.com")
    MembershipFactory(learner=learner, group=GroupFactory(name=text))

    [row] = exported(admin_client, requirement)

    protected = "'" + text
    assert row["requirement"] == protected + " training"
    assert (row["first_name"], row["last_name"], row["groups"]) == (protected, protected, protected)


def test_an_email_that_starts_like_a_formula_gets_a_leading_quote(admin_client, frozen_today):
    requirement = RequirementFactory()
    LearnerFactory(email="-minus@example.com")

    [row] = exported(admin_client, requirement)

    assert row["email"] == "'-minus@example.com"


def test_negative_days_left_is_a_plain_number(admin_client, frozen_today):
    requirement = RequirementFactory(valid_days=365, warning_days=30)
    CompletionFactory(course=requirement.course, day=TODAY - dt.timedelta(days=400))

    data = content(export(admin_client, requirement)).decode("utf-8-sig")

    [row] = parse(data.encode("utf-8-sig"))
    assert row["days_left"] == "-35" and row["status"] == "Expired"
    assert ",-35," in data and "'-35" not in data


def test_non_ascii_names_round_trip(admin_client, frozen_today):
    requirement = RequirementFactory(name="Sécurité au travail")
    people = [("Ångström", "Zoë"), ("Łukasz", "Żółć"), ("東京", "太郎")]
    for i, (first, last) in enumerate(people):
        learner = LearnerFactory(first_name=first, last_name=last, email=f"p{i}@example.com")
        MembershipFactory(learner=learner, group=GroupFactory(name=f"Équipe {last}"))

    rows = exported(admin_client, requirement)

    assert {(row["first_name"], row["last_name"], row["groups"]) for row in rows} == {
        (first, last, f"Équipe {last}") for first, last in people
    }
    assert set(column(rows, "requirement")) == {"Sécurité au travail"}


def test_groups_are_sorted_regardless_of_case_and_joined_with_semicolons(admin_client, frozen_today):
    requirement = RequirementFactory()
    learner = LearnerFactory()
    for name in ("sales", "HR Department", "audit", "Board"):
        MembershipFactory(learner=learner, group=GroupFactory(name=name))

    [row] = exported(admin_client, requirement)

    assert row["groups"] == "audit; Board; HR Department; sales"
    assert row["groups"] == "; ".join(group_names_of([learner.pk])[learner.pk])  # the Report's order


# --- Who is exported ---------------------------------------------------------------------------


def test_only_active_members_of_the_target_group_are_exported(admin_client, frozen_today):
    group = GroupFactory(name="Warehouse")
    requirement = RequirementFactory(target_group=group)
    member = LearnerFactory(email="member@example.com")
    MembershipFactory(learner=member, group=group)
    MembershipFactory(learner=LearnerFactory(email="gone@example.com", active=False), group=group)
    LearnerFactory(email="elsewhere@example.com")

    assert column(exported(admin_client, requirement), "email") == ["member@example.com"]


def test_enrolled_on_and_progress_come_only_from_an_open_enrollment_in_the_current_course(admin_client, frozen_today):
    requirement = RequirementFactory()
    other_course = CourseFactory()
    closed = LearnerFactory(last_name="Closed", email="closed@example.com")
    EnrollmentFactory(
        learner=closed,
        course=requirement.course,
        enrolled_at=dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        progress=100,
        completed_at=dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC),
    )
    other = LearnerFactory(last_name="Other", email="other@example.com")
    EnrollmentFactory(learner=other, course=other_course, enrolled_at=dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC))
    current = LearnerFactory(last_name="Current", email="current@example.com")
    EnrollmentFactory(
        learner=current, course=requirement.course, enrolled_at=dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC), progress=55
    )

    rows = {row["email"]: (row["enrolled_on"], row["progress"]) for row in exported(admin_client, requirement)}

    assert rows == {
        "closed@example.com": ("", ""),
        "current@example.com": ("2026-11-03", "55"),
        "other@example.com": ("", ""),
    }


# --- The response --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("Data Privacy", "", "data-privacy-all-2026-11-28.csv"),
        ("Data Privacy", "expiring_soon", "data-privacy-expiring_soon-2026-11-28.csv"),
        ("Fire Safety (Level 2)", "not_started", "fire-safety-level-2-not_started-2026-11-28.csv"),
        ("東京", "compliant", "requirement-{pk}-compliant-2026-11-28.csv"),
        ("!!!", "", "requirement-{pk}-all-2026-11-28.csv"),
    ],
)
def test_the_file_name_is_the_requirement_slug_the_status_and_today(admin_client, frozen_today, name, status, expected):
    requirement = RequirementFactory(name=name)

    response = export(admin_client, requirement, status=status)

    assert response["Content-Disposition"] == f'attachment; filename="{expected.format(pk=requirement.pk)}"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_an_unknown_status_is_a_bad_request_and_nothing_is_written(admin_client, requirement):
    response = export(admin_client, requirement, status="overdue")

    assert response.status_code == 400
    assert "Unknown status" in response.content.decode() and "expiring_soon" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_an_unknown_requirement_is_404(admin_client, frozen_today):
    assert admin_client.get("/learning/compliance/999999/report/export.csv").status_code == 404
    assert not AuditEvent.objects.exists()


def test_the_response_streams_in_several_chunks(admin_client, frozen_today):
    requirement = RequirementFactory()
    learners(3000, requirement.course)

    response = export(admin_client, requirement)

    assert isinstance(response, StreamingHttpResponse)
    chunks = list(response.streaming_content)
    assert len(chunks) >= 5  # 3,000 rows, 500 a chunk
    assert max(len(chunk) for chunk in chunks) < 200_000
    rows = parse(b"".join(chunks))
    assert len(rows) == 3000 and rows[0]["email"] == "l0000@example.com" and rows[-1]["email"] == "l2999@example.com"


@pytest.mark.parametrize("n", [10, 1000])
def test_the_export_runs_the_same_queries_for_10_or_1000_learners(
    admin_client, frozen_today, django_assert_num_queries, n
):
    requirement = RequirementFactory()
    learners(n, requirement.course)
    # The request: the session, the user, the user's groups; the requirement with
    # type, course and target group, its course history; INSERT the audit event;
    # SAVEPOINT, UPDATE django_session, RELEASE SAVEPOINT. No learner is read yet.
    with django_assert_num_queries(9):
        response = export(admin_client, requirement)
    # Reading the file: the group names (id -> name), then one SELECT of every
    # learner with status, facts and group ids. On PostgreSQL (export_lines.py)
    # the SELECT runs in a transaction of its own (here a SAVEPOINT and its
    # RELEASE, inside the test's transaction) after setting the date style for
    # it, and is read through a server-side cursor.
    with django_assert_num_queries(5 if connection.vendor == "postgresql" else 2):
        data = content(response)

    assert len(parse(data)) == n


@pytest.mark.postgres
def test_rows_are_read_through_a_server_side_cursor(admin_client, frozen_today):
    requirement = RequirementFactory()
    learners(1200, requirement.course)

    chunks = iter(export(admin_client, requirement).streaming_content)
    next(chunks)  # the BOM and the header, sent before the query runs
    next(chunks)  # the first rows
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        open_cursors = cursor.fetchone()[0]
    rest = list(chunks)

    assert open_cursors == 1
    assert rest  # the cursor was still being read


# --- Who may export, and the audit log ---------------------------------------------------------


def test_an_auditor_may_export(client, auditor_user, requirement):
    client.force_login(auditor_user)
    assert len(exported(client, requirement)) == 7


def test_an_outsider_is_forbidden(client, outsider_user, requirement):
    client.force_login(outsider_user)
    assert export(client, requirement).status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(client, requirement):
    response = export(client, requirement, status="expired")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/learning/compliance/")


def test_an_anonymous_htmx_request_is_redirected_by_htmx(client, requirement):
    response = client.get(url(requirement), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/accounts/login/")


def test_only_get_is_allowed(admin_client, requirement):
    assert admin_client.post(url(requirement)).status_code == 405


def test_each_export_is_audited_with_its_filter(client, auditor_user, requirement):
    client.force_login(auditor_user)

    export(client, requirement, status="expired", q="  caro   costa ")
    export(client, requirement)

    events = list(AuditEvent.objects.order_by("id").values_list("actor_label", "action", "requirement_id", "after"))
    assert events == [
        ("bob", "requirement.export", requirement.pk, {"status": "expired", "q": "caro costa"}),
        ("bob", "requirement.export", requirement.pk, {"status": "all", "q": ""}),
    ]
