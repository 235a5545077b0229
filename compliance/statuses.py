"""The five statuses of a learner in a requirement's scope (compliance-rules.md).

The rest of the code iterates over ``Status`` rather than naming the five in
branches, so that a later status (e.g. Overdue) is added here and in the rules.
"""

from django.db import models


class Status(models.TextChoices):
    COMPLIANT = "compliant", "Compliant"
    EXPIRING_SOON = "expiring_soon", "Expiring Soon"
    EXPIRED = "expired", "Expired"
    IN_PROGRESS = "in_progress", "In Progress"
    NOT_STARTED = "not_started", "Not Started"


#: Statuses that hold a valid certification today: they count towards the rate.
VALID_STATUSES = frozenset({Status.COMPLIANT, Status.EXPIRING_SOON})

#: Slug -> label ("expiring_soon" -> "Expiring Soon"), for rows read as plain values.
STATUS_LABELS = {status.value: status.label for status in Status}
