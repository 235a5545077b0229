"""The weekly digests (notifications.md, "Kinds"): to each manager, their
direct reports who need training; to each Admin, the counts per status of
every requirement with digests on and the change since the last digest.

A digest's week starts on the organisation's Monday (``TIME_ZONE``); the
first run of the week decides it and records that in ``DigestWeek``, even
when it found nobody to tell, so later runs of the week decide nothing (a
week whose Monday had no run is caught up by its first run). The outbox key
(recipient, kind, week) sends each digest once. What a digest
lists is stored in the outbox row as decided, so a retry sends the same email.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Exists, JSONField, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from compliance.models import DigestSnapshot, DigestWeek, Learner, Notification, NotificationKind, Requirement
from compliance.roles import ADMINS_GROUP
from compliance.rules import learner_statuses, status_counts_by_requirement
from compliance.statuses import STATUS_LABELS, Status

#: The statuses a manager is told about.
NEEDS_TRAINING = (Status.EXPIRING_SOON.value, Status.EXPIRED.value, Status.NOT_STARTED.value)


def week_of(today: dt.date) -> dt.date:
    """The organisation's Monday of ``today``'s week."""
    return today - dt.timedelta(days=today.weekday())


def digest_requirements() -> list[Requirement]:
    return list(Requirement.objects.filter(digests=True).select_related("course").prefetch_related("course_history"))


def week_to_decide(kind: str, today: dt.date, *, dry_run: bool = False) -> dt.date | None:
    """The Monday of this week if no earlier run decided its digests of ``kind``
    (recorded now, in the run's transaction, unless on a dry run); else ``None``."""
    week = week_of(today)
    if DigestWeek.objects.filter(kind=kind, week=week).exists():
        return None
    if not dry_run:
        DigestWeek.objects.bulk_create([DigestWeek(kind=kind, week=week)], ignore_conflicts=True)
    return week


def manager_digests_due(
    requirements: list[Requirement], *, today: dt.date, dry_run: bool = False
) -> list[Notification]:
    """One digest per manager with at least one direct report in scope who is
    Expiring Soon, Expired or Not Started, per requirement; one query per
    requirement, none once this week's digests are decided. A manager address
    that belongs to a deactivated learner gets none."""
    week = week_to_decide(NotificationKind.MANAGER_DIGEST, today, dry_run=dry_run)
    if week is None or not requirements:
        return []
    deactivated_manager = Learner.objects.filter(active=False, email__iexact=OuterRef("manager_email"))
    reports: dict[str, list[dict]] = defaultdict(list)
    for requirement in requirements:
        rows = (
            learner_statuses(requirement, today)
            .filter(status__in=NEEDS_TRAINING)
            .exclude(manager_email="")
            .exclude(Exists(deactivated_manager))
            .values_list("manager_email", "first_name", "last_name", "email", "status", "expires_on")
        )
        by_manager: dict[str, list[dict]] = defaultdict(list)
        for manager, first, last, email, status, expires_on in rows:
            by_manager[manager.lower()].append(
                {
                    "name": f"{first} {last}".strip() or email,
                    "email": email,
                    "status": STATUS_LABELS[status],
                    "expires_on": expires_on.isoformat() if expires_on else "",
                    "report_path": person_report_path(requirement.pk, status, email),
                }
            )
        for manager, learners in by_manager.items():
            reports[manager].append(_requirement_entry(requirement, learners=learners))
    return [
        _digest_row(NotificationKind.MANAGER_DIGEST, manager, week, today, {"requirements": entries})
        for manager, entries in sorted(reports.items())
    ]


def admin_recipients() -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    addresses = users.filter(Q(is_superuser=True) | Q(groups__name=ADMINS_GROUP)).values_list("email", flat=True)
    return sorted({address.lower() for address in addresses})


def admin_digests_due(requirements: list[Requirement], *, today: dt.date, dry_run: bool = False) -> list[Notification]:
    """One digest per Admin: each requirement's counts as of the first run of
    the week, and the change since the previous snapshot. The snapshot of the
    week is stored here (not on a dry run) and kept, whatever later runs see."""
    week = week_to_decide(NotificationKind.ADMIN_DIGEST, today, dry_run=dry_run)
    if week is None or not requirements:
        return []
    admins = admin_recipients()
    if not admins:
        return []
    counts = {
        pk: {s.value: c[s] for s in Status} for pk, c in status_counts_by_requirement(requirements, today).items()
    }
    if not dry_run:
        DigestSnapshot.objects.bulk_create(
            [DigestSnapshot(requirement_id=pk, week=week, counts=c) for pk, c in counts.items()], ignore_conflicts=True
        )
        counts |= dict(
            DigestSnapshot.objects.filter(week=week, requirement_id__in=list(counts)).values_list(
                "requirement_id", "counts"
            )
        )
    previous = _previous_counts(list(counts), week)
    entries = [
        _requirement_entry(requirement, counts=_count_lines(counts[requirement.pk], previous.get(requirement.pk)))
        for requirement in requirements
    ]
    return [
        _digest_row(NotificationKind.ADMIN_DIGEST, admin, week, today, {"requirements": entries}) for admin in admins
    ]


def _previous_counts(requirement_ids: list[int], week: dt.date) -> dict[int, dict]:
    latest = DigestSnapshot.objects.filter(requirement_id=OuterRef("pk"), week__lt=week).order_by("-week")
    rows = Requirement.objects.filter(pk__in=requirement_ids).annotate(
        previous=Subquery(latest.values("counts")[:1], output_field=JSONField())
    )
    return {pk: previous for pk, previous in rows.values_list("pk", "previous") if previous is not None}


def _count_lines(now: dict, before: dict | None) -> list[dict]:
    """Per status: the count and the change since the last digest (``None`` without one)."""
    return [
        {
            "status": status.label,
            "count": now.get(status.value, 0),
            "change": None if before is None else now.get(status.value, 0) - before.get(status.value, 0),
        }
        for status in Status
    ]


def _requirement_entry(requirement: Requirement, **more) -> dict:
    return {
        "id": requirement.pk,
        "name": requirement.name,
        "course": requirement.course.title,
        "report_path": reverse("requirement_report", args=[requirement.pk]),
        **more,
    }


def person_report_path(requirement_id: int, status: str, email: str) -> str:
    """The requirement's Report on the learner's status tab, searched for them."""
    query = urlencode({"status": status, "q": email})
    return f"{reverse('requirement_report', args=[requirement_id])}?{query}"


def _digest_row(kind: str, recipient: str, week: dt.date, today: dt.date, context: dict) -> Notification:
    return Notification(
        recipient=recipient,
        kind=kind,
        cycle=week.isoformat(),
        context={"week": week.isoformat(), **context},
        decided_at=timezone.now(),
        decided_on=today,
        next_attempt_at=timezone.now(),
    )
