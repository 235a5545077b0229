from django.urls import path

from compliance.views import (
    audit_log,
    dashboard,
    exports,
    health,
    notification_log,
    notification_settings,
    remediation,
    requirement_forms,
    requirement_pages,
)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("healthz/recompute", health.healthz_recompute, name="healthz_recompute"),
    path("learning/compliance/", dashboard.requirement_list, name="requirement_list"),
    path("learning/compliance/new/", requirement_forms.requirement_new, name="requirement_new"),
    path("learning/compliance/audit/", audit_log.audit_log_page_view, name="audit_log"),
    path("learning/compliance/audit/export.csv", audit_log.audit_log_export, name="audit_log_export"),
    path("learning/compliance/<int:pk>/", requirement_pages.requirement_overview, name="requirement_overview"),
    path("learning/compliance/<int:pk>/report/", requirement_pages.requirement_report, name="requirement_report"),
    path("learning/compliance/<int:pk>/report/export.csv", exports.requirement_export, name="requirement_export"),
    path("learning/compliance/<int:pk>/report/enroll/", remediation.requirement_enroll_view, name="requirement_enroll"),
    path(
        "learning/compliance/<int:pk>/report/remediate/",
        remediation.requirement_remediate_view,
        name="requirement_remediate",
    ),
    path("learning/compliance/<int:pk>/audit/", audit_log.requirement_audit_log, name="requirement_audit_log"),
    path(
        "learning/compliance/<int:pk>/audit/export.csv",
        audit_log.requirement_audit_log_export,
        name="requirement_audit_log_export",
    ),
    path("learning/compliance/<int:pk>/settings/", requirement_forms.requirement_settings, name="requirement_settings"),
    path(
        "learning/compliance/<int:pk>/settings/preview/",
        requirement_forms.requirement_settings_preview,
        name="requirement_settings_preview",
    ),
    path("learning/compliance/<int:pk>/delete/", requirement_forms.requirement_delete_view, name="requirement_delete"),
    # Notifications (issue 7)
    path("learning/compliance/notifications/", notification_log.notification_log, name="notification_log"),
    path(
        "learning/compliance/notifications/export.csv",
        notification_log.notification_log_export,
        name="notification_log_export",
    ),
    path(
        "learning/compliance/<int:pk>/notifications/",
        notification_log.requirement_notification_log,
        name="requirement_notification_log",
    ),
    path(
        "learning/compliance/<int:pk>/notifications/export.csv",
        notification_log.requirement_notification_log_export,
        name="requirement_notification_log_export",
    ),
    path(
        "learning/compliance/<int:pk>/settings/notifications/",
        notification_settings.requirement_notification_settings,
        name="requirement_notification_settings",
    ),
]
