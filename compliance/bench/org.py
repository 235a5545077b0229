"""The benchmark's synthetic organisation, built with a handful of set-based
``INSERT … SELECT`` statements on PostgreSQL (no row passes through Python).

Every "random" choice is ``hashint8`` of the row's number and the seed, so the
same size and seed give the same organisation on any server, and one learner's
choices do not depend on the order in which PostgreSQL visits the rows.

The organisation (issue 5): ``learners`` learners, 2 % deactivated; 200 groups,
every learner in one to three; 50 courses; 20 requirements, 10 for All
Learners and 10 for one group each; per learner and requirement in scope 0 to
3 completions over about three years (10 % none, 40 % one, 40 % two, 10 %
three: about 1.5 completions each); and an open enrollment for 5 % of learners.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from compliance.models import RequirementType

GROUPS = 200
COURSES = 50
ALL_LEARNER_REQUIREMENTS = 10
GROUP_REQUIREMENTS = 10
EMAIL_DOMAIN = "bench.example"
FIRST_NAMES = [
    "Ada", "Ben", "Chloe", "Dev", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas",
    "Kemi", "Liam", "Mara", "Noor", "Oskar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
]  # fmt: skip
LAST_NAMES = [
    "Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito", "Jensen",
    "Kowalski", "Lopez", "Murphy", "Novak", "Okafor", "Petrov", "Quist", "Rossi", "Smith", "Tanaka",
]  # fmt: skip


@dataclass(frozen=True)
class Organisation:
    learners: int
    groups: int
    memberships: int
    courses: int
    requirements: int
    completions: int
    open_enrollments: int
    seconds: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def pick(expression: str, salt: int, seed: int, modulo: int) -> str:
    """SQL: a number in ``0 … modulo - 1`` that looks random but depends only on
    ``expression`` (a row's number), ``salt`` (which choice) and ``seed``."""
    return f"mod(hashint8(({expression})::bigint * 1000003 + {salt * 7919 + seed})::bigint + 2147483648, {modulo})"


def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in values) + "]"


def _statements(*, learners: int, seed: int, today: dt.date) -> list[tuple[str, list]]:
    """The statements that build the organisation, in order, with their parameters."""
    first = f"({_array(FIRST_NAMES)})[1 + {pick('g', 1, seed, len(FIRST_NAMES))}]"
    last = f"({_array(LAST_NAMES)})[1 + {pick('g', 2, seed, len(LAST_NAMES))}]"
    # 0: none (10 %), 1-4: one (40 %), 5-8: two (40 %), 9: three (10 %).
    completions_of_pair = f"(ARRAY[0, 1, 1, 1, 1, 2, 2, 2, 2, 3])[1 + {pick('p.pair', 3, seed, 10)}]"
    # Days since the latest completion: 0-419, so with a year's validity about
    # 72 % are valid, and earlier retakes come 300-359 days before each other.
    latest_age = pick("p.pair", 4, seed, 420)
    retake_gap = pick("p.pair * 4 + k", 5, seed, 60)
    return [
        (
            "INSERT INTO compliance_learner (email, first_name, last_name, active, manager_email, created_at, updated_at) "
            f"SELECT 'learner' || g || '@{EMAIL_DOMAIN}', {first}, {last}, mod(g, 50) <> 0, '', now(), now() "
            "FROM generate_series(1, %s) g",
            [learners],
        ),
        (
            "INSERT INTO compliance_learnergroup (name, description, created_at) "
            "SELECT 'Group ' || lpad(g::text, 3, '0'), '', now() FROM generate_series(1, %s) g",
            [GROUPS],
        ),
        (
            "INSERT INTO compliance_course (code, title, url, created_at) "
            "SELECT 'BENCH-' || lpad(g::text, 3, '0'), 'Course ' || g, '', now() FROM generate_series(1, %s) g",
            [COURSES],
        ),
        # Group offsets 67, 134 and 201 (mod 200) differ, so nobody is in a group twice.
        (
            "INSERT INTO compliance_membership (learner_id, group_id, created_at) "
            "SELECT l.id, g.id, now() FROM compliance_learner l CROSS JOIN generate_series(1, 3) k "
            "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx FROM compliance_learnergroup) g "
            f"ON g.idx = mod({pick('l.id', 6, seed, GROUPS)} + k * 67, {GROUPS}) "
            f"WHERE k <= 1 + {pick('l.id', 7, seed, 3)}",
            [],
        ),
        # Requirements 1-10 for All Learners (365 days, warned 30 before),
        # 11-20 for groups 1-10 (730 days, warned 60 before); course n for requirement n.
        (
            "INSERT INTO compliance_requirement (type_id, name, description, valid_days, warning_days, course_id, "
            "target_group_id, created_at, updated_at, notify_learners, reminder_every_days, reminder_max, digests) "
            "SELECT %s, 'Requirement ' || lpad(c.idx::text, 2, '0'), '', "
            "CASE WHEN c.idx <= %s THEN 365 ELSE 730 END, CASE WHEN c.idx <= %s THEN 30 ELSE 60 END, c.id, "
            "CASE WHEN c.idx <= %s THEN NULL ELSE g.id END, now(), now(), false, 7, 4, true "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) AS idx FROM compliance_course) c "
            "LEFT JOIN (SELECT id, row_number() OVER (ORDER BY id) AS idx FROM compliance_learnergroup) g "
            "ON g.idx = c.idx - %s WHERE c.idx <= %s",
            [
                RequirementType.objects.order_by("position", "pk").values_list("pk", flat=True).first(),
                ALL_LEARNER_REQUIREMENTS,
                ALL_LEARNER_REQUIREMENTS,
                ALL_LEARNER_REQUIREMENTS,
                ALL_LEARNER_REQUIREMENTS,
                ALL_LEARNER_REQUIREMENTS + GROUP_REQUIREMENTS,
            ],
        ),
        # Completions of every learner (deactivated ones included: they keep
        # their history) for each requirement whose target they are in.
        (
            "INSERT INTO compliance_completion (learner_id, course_id, completed_at, completed_on, source, created_at) "
            "SELECT p.learner_id, p.course_id, (d.day + time '12:00') AT TIME ZONE %s, d.day, 'import', now() "
            "FROM (SELECT l.id AS learner_id, r.course_id, l.id * 64 + r.id AS pair "
            "      FROM compliance_requirement r JOIN compliance_learner l ON r.target_group_id IS NULL "
            "      OR EXISTS (SELECT 1 FROM compliance_membership m WHERE m.learner_id = l.id "
            "                 AND m.group_id = r.target_group_id)) p "
            "CROSS JOIN generate_series(1, 3) k "
            f"CROSS JOIN LATERAL (SELECT %s::date - ({latest_age} + (k - 1) * (300 + {retake_gap}))::int AS day) d "
            f"WHERE k <= {completions_of_pair}",
            [settings.TIME_ZONE, today],
        ),
        # 5 % of learners hold an open enrollment in a requirement's course,
        # begun by half of them.
        (
            "INSERT INTO compliance_enrollment (learner_id, course_id, enrolled_at, started_at, progress, source) "
            "SELECT l.id, c.id, e.at, CASE WHEN "
            f"{pick('l.id', 10, seed, 2)} = 0 THEN e.at + interval '1 day' END, 0, 'import' "
            "FROM compliance_learner l "
            "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS idx FROM compliance_course) c "
            f"ON c.idx = {pick('l.id', 8, seed, ALL_LEARNER_REQUIREMENTS + GROUP_REQUIREMENTS)} "
            f"CROSS JOIN LATERAL (SELECT now() - ({pick('l.id', 9, seed, 60)} + 2) * interval '1 day' AS at) e "
            f"WHERE {pick('l.id', 11, seed, 20)} = 0",
            [],
        ),
    ]


def build_organisation(*, learners: int, seed: int, today: dt.date) -> Organisation:
    """Fill an empty compliance database with the synthetic organisation, then
    ``VACUUM ANALYZE`` it, as a database that has been running for a while."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM compliance_learner)")
        if cursor.fetchone()[0]:
            raise ValueError("the benchmark organisation is built into an empty database only")
        for sql, params in _statements(learners=learners, seed=seed, today=today):
            cursor.execute(sql, params)
    if connection.in_atomic_block:  # the smoke test's transaction: VACUUM cannot run there
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    seconds = time.perf_counter() - started
    return Organisation(seconds=round(seconds, 2), **_counts())


def _counts() -> dict[str, int]:
    tables = {
        "learners": "compliance_learner",
        "groups": "compliance_learnergroup",
        "memberships": "compliance_membership",
        "courses": "compliance_course",
        "requirements": "compliance_requirement",
        "completions": "compliance_completion",
        "open_enrollments": "compliance_enrollment WHERE completed_at IS NULL",
    }
    with connection.cursor() as cursor:
        found = {}
        for name, table in tables.items():
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            found[name] = cursor.fetchone()[0]
    return found
