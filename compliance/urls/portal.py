from django.urls import path

from compliance.views import health, portal

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("learning/compliance/", portal.requirement_list, name="requirement_list"),
]
