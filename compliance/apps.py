from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"

    def ready(self):
        from compliance import checks  # noqa: F401  (registers the system checks)
        from compliance.notifications import receivers  # noqa: F401  (connects the signal receivers)
