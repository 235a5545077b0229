"""Events other parts of the app may act on. Each is sent once the change it
announces is committed, never from inside a transaction that may roll back."""

from django.dispatch import Signal

#: Open enrollments created by an admin's Enroll or Remediate All.
#: Arguments: ``requirement_id``, ``enrollment_ids`` (a list, never empty).
enrollments_opened = Signal()
