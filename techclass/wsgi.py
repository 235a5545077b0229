import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "techclass.settings")
application = get_wsgi_application()

# Fail at start-up, not at the first request, when SECRET_KEY is missing.
settings.SECRET_KEY  # noqa: B018
