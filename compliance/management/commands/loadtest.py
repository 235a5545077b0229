import csv
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from compliance.bench.database import BenchRefused, bench_database, require_postgresql
from compliance.bench.org import build_organisation
from compliance.dates import org_today
from compliance.models import Requirement
from compliance.recompute import recompute
from compliance.roles import ADMINS_GROUP

PORT = 8095
USERNAME_PREFIX = "loadtest-admin-"


class Command(BaseCommand):
    help = (
        "Load test (make loadtest): build the benchmark organisation in a database of its own, serve it with "
        "gunicorn (2 workers, loopback), run locust (20 users, 60 s) and print p95 per page and the errors."
    )

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--users", type=int, default=20)
        parser.add_argument("--seconds", type=int, default=60)
        parser.add_argument("--port", type=int, default=PORT)

    def handle(self, *args, learners, seed, users, seconds, port, **options):
        try:
            require_postgresql()
        except BenchRefused as refusal:
            raise CommandError(str(refusal)) from None
        with bench_database() as name, tempfile.TemporaryDirectory() as scratch:
            call_command("migrate", verbosity=0, interactive=False)
            self.stdout.write(f"Building {learners:,} learners in {name} …")
            build_organisation(learners=learners, seed=seed, today=org_today())
            recompute(trigger="loadtest")
            password = secrets.token_urlsafe(16)
            self._create_admins(users, password)
            requirement = Requirement.objects.filter(target_group__isnull=True).order_by("pk").first()
            env = self._server_env(name) | {
                "LOADTEST_USERNAME_PREFIX": USERNAME_PREFIX,
                "LOADTEST_USERS": str(users),
                "LOADTEST_PASSWORD": password,
                "LOADTEST_REQUIREMENT": str(requirement.pk),
            }
            from django.db import connection

            connection.close()  # the database is the server's now
            server = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                [sys.executable, "-m", "gunicorn", "techclass.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
                env=env,
            )
            try:
                self._wait_for_server(port)
                prefix = Path(scratch) / "locust"
                subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
                    [
                        sys.executable,
                        "-m",
                        "locust",
                        "-f",
                        str(settings.BASE_DIR / "locustfile.py"),
                        "--headless",
                        "--users",
                        str(users),
                        "--spawn-rate",
                        str(users),
                        "--run-time",
                        f"{seconds}s",
                        "--host",
                        f"http://127.0.0.1:{port}",
                        "--csv",
                        str(prefix),
                        "--only-summary",
                    ],
                    env=env,
                    check=False,
                )
                self._report(Path(f"{prefix}_stats.csv"))
            finally:
                server.terminate()
                server.wait(timeout=30)

    def _create_admins(self, count: int, password: str) -> None:
        """One compliance admin per simulated user, as real admins are: sign-in
        attempts of one username are serialised (the throttle's lock), which
        20 users sharing an account would measure instead of the pages."""
        hashed = make_password(password)  # one hash for all: PBKDF2 is slow by design
        admins = get_user_model().objects.bulk_create(
            get_user_model()(username=f"{USERNAME_PREFIX}{number}", password=hashed) for number in range(1, count + 1)
        )
        Group.objects.get(name=ADMINS_GROUP).user_set.add(*admins)

    def _server_env(self, database: str) -> dict:
        url = settings.DATABASES["default"]
        auth = url["USER"] + (f":{url['PASSWORD']}" if url["PASSWORD"] else "")
        return os.environ | {
            "DJANGO_SETTINGS_MODULE": "techclass.loadtest_settings",
            "DATABASE_URL": f"postgres://{auth}@{url['HOST'] or '127.0.0.1'}:{url['PORT'] or 5432}/{database}",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "DEBUG": "false",
        }

    def _wait_for_server(self, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"gunicorn did not answer on 127.0.0.1:{port} within {timeout:.0f} s")

    def _report(self, stats: Path) -> None:
        if not stats.exists():
            raise CommandError("locust wrote no statistics")
        with stats.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        self.stdout.write(f"\n{'page':<28} {'requests':>9} {'errors':>7} {'median ms':>10} {'p95 ms':>8}  p95<=500")
        errors = 0
        for row in rows:
            name = row["Name"] or "all"
            failures = int(row["Failure Count"])
            if row["Type"]:
                errors += failures
            p95 = float(row["95%"])
            verdict = "PASS" if p95 <= 500 else "FAIL"
            self.stdout.write(
                f"{name:<28} {row['Request Count']:>9} {failures:>7} {row['Median Response Time']:>10} "
                f"{p95:>8.0f}  {verdict}"
            )
        self.stdout.write(f"\nerrors: {errors} ({'PASS' if errors == 0 else 'FAIL'}: target 0)")
