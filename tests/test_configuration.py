"""Configuration from the environment, and the production settings' deploy check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "SECRET_KEY": "k8Jx2-production-like-secret-9fQv7LmZpR3tW6yB1nC4dE8gH0jK5sU2xA7",
    "ALLOWED_HOSTS": "compliance.example.com",
    "DATABASE_URL": "postgres://techclass@db.internal:5432/techclass",
    "REDIS_URL": "redis://redis.internal:6379/0",
}


def manage(*args, env=None):
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "techclass.settings",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **(env or {})}, capture_output=True, text=True
    )


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_debug_the_deploy_check_requires_a_secret_key():
    result = manage("check", "--deploy", env={"ALLOWED_HOSTS": "x"})
    assert result.returncode != 0
    assert "compliance.E002" in result.stderr
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_without_a_secret_key_the_web_app_refuses_to_start():
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "ALLOWED_HOSTS": "x"}
    result = subprocess.run(
        [sys.executable, "-c", "import techclass.wsgi"], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "The SECRET_KEY setting must not be empty" in result.stderr


def test_commands_that_need_no_key_run_without_one():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("TIME_ZONE", "Mars/Olympus", "is not a known time zone"),
        ("IMPORT_MAX_MB", "lots", "IMPORT_MAX_MB must be a whole number"),
    ],
)
def test_a_bad_setting_fails_loudly(name, value, message):
    result = manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_settings_read_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.TIME_ZONE, s.ALLOWED_HOSTS, s.DATABASES['default']['ENGINE'], "
        "s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
    )
    result = manage("shell", "-v", "0", "-c", code, env={**PRODUCTION_ENV, "TIME_ZONE": "Europe/Berlin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "Europe/Berlin",
        "['compliance.example.com']",
        "django.db.backends.postgresql",
        "redis://redis.internal:6379/0",
        "False",
        "True",
        "31536000",
    ]


def test_with_no_settings_the_app_runs_on_sqlite_and_tasks_in_process():
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = manage("shell", "-v", "0", "-c", code, env={"DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    engine, name, eager = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert Path(name) == ROOT / "db.sqlite3"
    assert eager == "True"


def test_the_forwarded_proto_header_is_trusted_only_when_asked():
    code = "from django.conf import settings as s; print(getattr(s, 'SECURE_PROXY_SSL_HEADER', None))"
    assert manage("shell", "-v", "0", "-c", code, env=PRODUCTION_ENV).stdout.strip() == "None"
    trusted = manage("shell", "-v", "0", "-c", code, env={**PRODUCTION_ENV, "TRUST_X_FORWARDED_PROTO": "true"})
    assert trusted.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"
