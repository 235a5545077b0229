from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/learning/compliance/", permanent=False)),
    path("accounts/", include("compliance.urls.accounts")),
    path("admin/", admin.site.urls),
    path("", include("compliance.urls.portal")),
]

handler400 = "compliance.views.errors.bad_request"
handler403 = "compliance.views.errors.permission_denied"
handler404 = "compliance.views.errors.page_not_found"
handler500 = "compliance.views.errors.server_error"
