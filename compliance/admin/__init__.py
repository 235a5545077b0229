"""The Django admin, for raw data (interfaces.md, "Django admin").

Reference data (learners, groups, memberships, courses, requirement types,
portal accounts and their roles) is edited here; enrollments and completions
are added and corrected but never deleted; requirements, the recompute's state
and the audit log are read-only. Every write made here is written to the audit
log in the same transaction.
"""

from django.contrib import admin

from compliance.admin import accounts, outbox, people, tracking, training  # noqa: F401  (registers the ModelAdmins)
from compliance.roles import is_compliance_admin
from compliance.sign_in import AdminSignInForm


def _may_use_admin(request) -> bool:
    """Staff (Django's rule) and members of "Compliance Admins" may sign in here."""
    user = request.user
    return user.is_active and (user.is_staff or is_compliance_admin(user))


admin.site.has_permission = _may_use_admin
admin.site.site_header = "Techclass compliance admin"
admin.site.site_title = "Techclass compliance admin"
admin.site.index_title = "Raw data"
admin.site.login_form = AdminSignInForm  # throttled and audited like the portal's sign-in
