"""One benchmark run over the current database: build, measure, judge."""

from __future__ import annotations

import datetime as dt
import os
import platform
import warnings
from collections.abc import Callable

from django.db import connection
from django.test.utils import override_settings

from compliance.bench import measure
from compliance.bench.org import build_organisation
from compliance.bench.targets import judge
from compliance.dates import org_today
from compliance.models import Requirement

#: What the test client needs (its host name, plain HTTP, static files without a
#: collectstatic manifest); pages run as in production otherwise.
CLIENT_SETTINGS = {
    "ALLOWED_HOSTS": ["testserver"],
    "SECURE_SSL_REDIRECT": False,
    "STORAGES": {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    },
}


def server_version() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def run_benchmark(
    *, learners: int, seed: int, runs: int, page_runs: int = 20, say: Callable[[str], None] = print
) -> dict:
    """Build the organisation into the (empty, migrated) current database and
    measure every figure; returns them with the verdicts."""
    today = org_today()
    say(f"Building {learners:,} learners (seed {seed}) …")
    org = build_organisation(learners=learners, seed=seed, today=today)
    say(f"  built in {org.seconds} s: {org.completions:,} completions, {org.memberships:,} memberships")
    figures: dict = {
        "config": {
            "learners": learners,
            "seed": seed,
            "runs": runs,
            "page_runs": page_runs,
            "today": today.isoformat(),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgresql": server_version(),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        "organisation": org.as_dict(),
    }
    say("Plain-SQL floor …")
    floor, floor_rows = measure.measure_floor(runs)
    figures["floor"] = floor.as_dict(scale=1.0) | {"rows": floor_rows}
    say("Recompute (first run, unchanged re-run, after 1 % new completions) …")
    figures["recompute"] = measure.measure_recompute(runs)
    # The first All Learners requirement: the largest scope.
    requirement = Requirement.objects.filter(target_group__isnull=True).order_by("pk").first()
    with override_settings(**CLIENT_SETTINGS), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No directory at")
        client = measure.bench_client()
        say("Pages …")
        figures["pages"] = measure.measure_pages(client, measure.page_urls(requirement, search="smi"), page_runs)
        say("Export CSV …")
        figures["export"] = measure.measure_export(client, requirement, runs)
        say("Remediate All …")
        figures["remediation"] = measure.measure_remediation(client, requirement, runs)
    figures["verdicts"] = [verdict.as_dict() for verdict in judge(figures)]
    return figures
