from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/learning/compliance/", permanent=False)),
    path("accounts/", include("compliance.urls.accounts")),
    path("admin/", admin.site.urls),
    path("", include("compliance.urls.portal")),
]
