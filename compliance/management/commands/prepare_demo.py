import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from compliance.demo import demo_database_is_empty
from compliance.recompute import RecomputeAlreadyRunning, recompute

DEMO_URL = "http://127.0.0.1:8000/"
ADMIN_USERNAME = "admin"
DEMO_LEARNERS = 500
DEMO_SEED = 42


class Command(BaseCommand):
    help = (
        "Get a local database ready for `make run`: demo data when it holds none, a demo admin "
        "with a fresh random password when there is no user 'admin', and an up-to-date recompute."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "prepare_demo is for a local demo (DEBUG=true): it may create an admin and print its password. "
                "In production create accounts with: python manage.py createsuperuser"
            )
        seeded = self._seed_if_empty()
        self._ensure_admin()
        if not seeded:
            self._recompute()

    def _seed_if_empty(self) -> bool:
        if not demo_database_is_empty():
            self.stdout.write("The database already holds data: leaving it alone (no demo data added).")
            return False
        call_command("seed_demo", learners=DEMO_LEARNERS, seed=DEMO_SEED, stdout=self.stdout, stderr=self.stderr)
        return True

    def _ensure_admin(self) -> None:
        User = get_user_model()
        if User.objects.filter(username=ADMIN_USERNAME).exists():
            self.stdout.write(
                f"The user '{ADMIN_USERNAME}' already exists; its password was not changed. "
                f"To set a new one: python manage.py changepassword {ADMIN_USERNAME}"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
        self.stdout.write(self.style.SUCCESS("A demo admin was created. Its password is shown this once only:"))
        self.stdout.write(f"  URL:      {DEMO_URL}")
        self.stdout.write(f"  username: {ADMIN_USERNAME}")
        self.stdout.write(f"  password: {password}")

    def _recompute(self) -> None:
        try:
            result = recompute(trigger="demo")
        except RecomputeAlreadyRunning:
            self.stdout.write("A recompute is already running; not starting another.")
            return
        self.stdout.write(f"Recomputed {len(result.requirements)} requirement(s): {result.changes} status change(s).")
