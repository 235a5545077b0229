"""Notifications (notifications.md): what is decided (``decisions``,
``digests``), the run that decides and inserts it into the outbox (``run``),
sending (``sending``), the emails (``emails``), the per-requirement settings
(``preferences``) and the log pages' reads (``log``)."""
