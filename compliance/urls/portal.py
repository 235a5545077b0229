from django.urls import path

from compliance.views import dashboard, health, requirement_forms, requirement_pages

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("learning/compliance/", dashboard.requirement_list, name="requirement_list"),
    path("learning/compliance/new/", requirement_forms.requirement_new, name="requirement_new"),
    path("learning/compliance/<int:pk>/", requirement_pages.requirement_overview, name="requirement_overview"),
    path("learning/compliance/<int:pk>/report/", requirement_pages.requirement_report, name="requirement_report"),
    path("learning/compliance/<int:pk>/settings/", requirement_forms.requirement_settings, name="requirement_settings"),
    path(
        "learning/compliance/<int:pk>/settings/preview/",
        requirement_forms.requirement_settings_preview,
        name="requirement_settings_preview",
    ),
    path("learning/compliance/<int:pk>/delete/", requirement_forms.requirement_delete_view, name="requirement_delete"),
]
