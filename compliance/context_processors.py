from django.conf import settings
from django.utils.functional import SimpleLazyObject

from compliance.navigation import sidebar_for
from compliance.roles import is_compliance_admin
from compliance.selectors import recompute_is_stale


def portal(request):
    """The sidebar and whether to show edit controls; computed only if a template asks."""
    user = request.user
    return {
        "portal_nav": SimpleLazyObject(lambda: sidebar_for(user)),
        "can_edit": SimpleLazyObject(lambda: is_compliance_admin(user)),
        # The heartbeat banner of the portal layout: admins only, one query.
        "recompute_stale": SimpleLazyObject(lambda: is_compliance_admin(user) and recompute_is_stale()),
        "recompute_stale_hours": settings.RECOMPUTE_STALE_HOURS,
    }
