from django.utils.functional import SimpleLazyObject

from compliance.navigation import sidebar_for
from compliance.roles import is_compliance_admin


def portal(request):
    """The sidebar and whether to show edit controls; computed only if a template asks."""
    user = request.user
    return {
        "portal_nav": SimpleLazyObject(lambda: sidebar_for(user)),
        "can_edit": SimpleLazyObject(lambda: is_compliance_admin(user)),
    }
