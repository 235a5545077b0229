"""Settings for ``manage.py loadtest``'s gunicorn: production settings, served
over plain HTTP on loopback (so cookies are not marked Secure and nothing
redirects to HTTPS), with static files left to the finders."""

import os

os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from techclass.settings import *  # noqa: F403

ALLOWED_HOSTS = ["127.0.0.1"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
