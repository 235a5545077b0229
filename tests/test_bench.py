"""The benchmark's building blocks at a tiny size, so that ``make bench`` cannot
rot between the runs made by hand. No figure of time is asserted here."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from compliance.bench.database import BenchRefused, bench_database, database_exists, require_postgresql
from compliance.bench.org import build_organisation
from compliance.bench.runner import run_benchmark
from compliance.bench.targets import judge
from compliance.dates import org_today
from compliance.models import Enrollment, Learner, LearnerRequirementState, Membership, Requirement
from compliance.statuses import Status

MANAGE = Path(settings.BASE_DIR) / "manage.py"


def test_the_bench_command_refuses_sqlite_with_a_clear_message_and_a_failing_exit():
    env = os.environ | {
        "DATABASE_URL": "sqlite:///:memory:",
        "DJANGO_SETTINGS_MODULE": "techclass.test_settings",
    }
    done = subprocess.run(
        [sys.executable, str(MANAGE), "bench", "--learners", "10"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0
    assert "The benchmark needs PostgreSQL, but DATABASE_URL points at sqlite" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is for SQLite")
def test_require_postgresql_refuses_sqlite():
    with pytest.raises(BenchRefused, match="needs PostgreSQL"):
        require_postgresql()


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_organisation_has_the_shape_the_issue_asks_for():
    org = build_organisation(learners=300, seed=7, today=org_today())

    assert (org.learners, org.groups, org.courses, org.requirements) == (300, 200, 50, 20)
    assert Learner.objects.filter(active=False).count() == 6  # 2 %
    per_learner = Membership.objects.values("learner_id").annotate(n=Count("pk")).values_list("n", flat=True)
    assert len(per_learner) == 300 and set(per_learner) <= {1, 2, 3}
    assert Requirement.objects.filter(target_group__isnull=True).count() == 10
    assert Requirement.objects.filter(target_group__isnull=False).count() == 10
    # About 1.5 completions per (learner, requirement in scope): 10 All Learners
    # requirements give 3,000 pairs, the group ones a few more.
    assert 3_000 * 1.3 < org.completions < 3_300 * 1.7
    assert 0 < org.open_enrollments == Enrollment.objects.filter(completed_at__isnull=True).count() < 40


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_same_seed_builds_the_same_organisation():
    build_organisation(learners=50, seed=3, today=org_today())
    first = list(Learner.objects.order_by("email").values_list("email", "first_name", "last_name", "active"))

    assert first[0][0].endswith("@bench.example")
    assert build_figures_again(seed=3) == first


def build_figures_again(seed: int):
    """Empty the organisation and build it again with ``seed``."""
    with connection.cursor() as cursor:
        for table in ("completion", "enrollment", "membership", "requirement", "learner", "learnergroup", "course"):
            cursor.execute(f"DELETE FROM compliance_{table}")
    build_organisation(learners=50, seed=seed, today=org_today())
    return list(Learner.objects.order_by("email").values_list("email", "first_name", "last_name", "active"))


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_benchmark_runs_end_to_end_at_a_tiny_size():
    figures = run_benchmark(learners=300, seed=1, runs=1, page_runs=2, say=lambda line: None)

    recompute = figures["recompute"]
    pairs = LearnerRequirementState.objects.count()
    assert recompute["pairs"] == pairs == figures["floor"]["rows"]
    assert recompute["first"]["rows_written"] == pairs
    assert recompute["unchanged"]["rows_written"] == 0
    assert 1 <= recompute["one_percent"]["new_completions"] <= 3
    pages = figures["pages"]
    assert {"dashboard", "overview", "search"} <= set(pages)
    assert sum(name.startswith("report ") for name in pages) == 2 * len(Status)
    assert all(page["queries"] > 0 for page in pages.values())
    assert figures["export"]["rows"] == Learner.objects.filter(active=True).count()
    assert figures["remediation"]["enrolled"] > 0
    assert figures["remediation"]["repeat"]["enrolled"] == 0
    assert figures["verdicts"] == [verdict.as_dict() for verdict in judge(figures)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_bench_database_is_its_own_and_is_dropped_even_after_an_error():
    ours = connection.settings_dict["NAME"]
    with pytest.raises(RuntimeError, match="interrupted"), bench_database() as name:
        assert name != ours
        assert database_exists(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == name
        raise RuntimeError("interrupted")

    assert not database_exists(name)
    assert connection.settings_dict["NAME"] == ours
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        assert cursor.fetchone()[0] == ours
