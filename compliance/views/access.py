"""Access checks shared by every portal view (interfaces.md, "Roles")."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django_htmx.http import HttpResponseClientRedirect

from compliance.roles import can_view_portal, is_compliance_admin


def portal_view(view):
    """Signed-in Admins and Auditors only: anonymous users are sent to sign in
    (HTMX requests with ``HX-Redirect``), anyone else gets 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            if getattr(request, "htmx", False):
                # Back to the page the user was on, not the fragment's address.
                back_to = request.htmx.current_url_abs_path or request.get_full_path()
                return HttpResponseClientRedirect(redirect_to_login(back_to).url)
            return redirect_to_login(request.get_full_path())
        if not can_view_portal(request.user):
            raise PermissionDenied("You do not have access to the compliance portal.")
        return view(request, *args, **kwargs)

    return wrapper


def admin_view(view):
    """Like ``portal_view``, and only Admins may go on: Auditors get 403."""

    @portal_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_compliance_admin(request.user):
            raise PermissionDenied("Only compliance admins can make changes. Your role can view and export.")
        return view(request, *args, **kwargs)

    return wrapper


def partial_for_htmx(request, template_name: str, partial: str) -> str:
    """The whole page, or only the named partial of the same template for an HTMX request."""
    htmx = request.htmx
    wants_partial = htmx and not htmx.boosted and not htmx.history_restore_request
    return f"{template_name}#{partial}" if wants_partial else template_name
