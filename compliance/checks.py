"""System checks: what the app needs of its database."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

#: RETURNING, for the primary keys of bulk inserts the imports rely on.
MINIMUM_SQLITE = (3, 35, 0)


@checks.register(checks.Tags.database, deploy=False)
def sqlite_is_recent_enough(app_configs=None, databases=None, **kwargs):
    connection = connections["default"]
    if connection.vendor != "sqlite":
        return []
    found = connection.Database.sqlite_version_info
    if found >= MINIMUM_SQLITE:
        return []
    need = ".".join(map(str, MINIMUM_SQLITE))
    return [
        checks.Error(
            f"SQLite {connection.Database.sqlite_version} is too old: this app needs {need} or newer.",
            hint="Use a Python built with a newer SQLite, or PostgreSQL (DATABASE_URL).",
            id="compliance.E001",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def secret_key_is_set(app_configs=None, **kwargs):
    try:
        settings.SECRET_KEY  # noqa: B018  (Django refuses an empty key when it is read)
    except ImproperlyConfigured:
        return [
            checks.Error(
                "SECRET_KEY must be set when DEBUG is off (see README, Configuration).",
                hint="e.g. SECRET_KEY=\"$(python -c 'import secrets; print(secrets.token_urlsafe(50))')\"",
                id="compliance.E002",
            )
        ]
    return []
