"""The emails themselves: plain text and HTML from ``templates/emails/``, with
subjects that say what to do and by when. User text (names, titles) is
escaped in the HTML part by the template engine; subjects are one line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.dateformat import format as format_date

from compliance.models import Learner, Notification, NotificationKind, Requirement
from compliance.statuses import Status


@dataclass(frozen=True)
class LearnerFacts:
    """What a learner email says, read when it is sent."""

    learner: Learner
    requirement: Requirement
    status: Status
    expires_on: dt.date | None


def day(value: dt.date | None) -> str:
    return format_date(value, "j M Y") if value else ""


def one_line(text: str) -> str:
    """No line breaks (a header may not hold one), no runs of spaces."""
    return " ".join(text.split())


def learner_subject(kind: str, facts: LearnerFacts) -> str:
    requirement, course = facts.requirement.name, facts.requirement.course.title
    expires = day(facts.expires_on)
    if kind == NotificationKind.ENROLLED:
        when = f"by {expires}" if facts.status == Status.EXPIRING_SOON else "now"
        return f"Action needed: take {course} {when} ({requirement})"
    if kind == NotificationKind.EXPIRING_SOON:
        return f"Action needed: {requirement} expires on {expires}, retake {course} before then"
    if kind == NotificationKind.EXPIRED:
        return f"Action needed: {requirement} expired on {expires}, retake {course} now"
    if facts.status == Status.EXPIRED:
        return f"Reminder: {requirement} expired on {expires}, retake {course} now"
    return f"Reminder: take {course} now ({requirement})"


def learner_message(notification: Notification, facts: LearnerFacts, connection=None) -> EmailMultiAlternatives:
    course = facts.requirement.course
    context = {
        "kind": notification.kind,
        "ordinal": notification.ordinal,
        "learner": facts.learner,
        "requirement": facts.requirement,
        "course": course,
        "status": facts.status,
        "expired": facts.status == Status.EXPIRED,
        "expires_on": day(facts.expires_on),
        "link": course.url or settings.SITE_URL,
    }
    return _message(notification, learner_subject(notification.kind, facts), "learner", context, connection)


def digest_subject(notification: Notification) -> str:
    week = day(dt.date.fromisoformat(notification.context["week"]))
    if notification.kind == NotificationKind.MANAGER_DIGEST:
        people = {row["email"] for entry in notification.context["requirements"] for row in entry["learners"]}
        n = len(people)
        return f"Action needed this week: {n} of your team need{'s' if n == 1 else ''} compliance training"
    return f"Compliance digest for the week of {week}: counts per requirement"


def digest_message(notification: Notification, connection=None) -> EmailMultiAlternatives:
    requirements = [
        entry
        | {
            "report_url": settings.SITE_URL.rstrip("/") + entry["report_path"],
            "learners": [
                person | {"when": _when(person), "report_url": _url(person)} for person in entry.get("learners", [])
            ],
        }
        for entry in notification.context["requirements"]
    ]
    context = {"week": day(dt.date.fromisoformat(notification.context["week"])), "requirements": requirements}
    template = "manager_digest" if notification.kind == NotificationKind.MANAGER_DIGEST else "admin_digest"
    return _message(notification, digest_subject(notification), template, context, connection)


def _url(person: dict) -> str:
    """The person's link to the Report ("" in a digest decided before links were per person)."""
    return settings.SITE_URL.rstrip("/") + person["report_path"] if person.get("report_path") else ""


def _when(person: dict) -> str:
    """ "expired 28 Dec 2025" or "expires 15 Dec 2026" for a manager digest's line; "" without a date."""
    if not person.get("expires_on"):
        return ""
    verb = "expired" if person["status"] == Status.EXPIRED.label else "expires"
    return f"{verb} {day(dt.date.fromisoformat(person['expires_on']))}"


def _message(notification: Notification, subject: str, template: str, context: dict, connection):
    context = context | {"org_name": settings.ORG_NAME, "site_url": settings.SITE_URL, "subject": subject}
    message = EmailMultiAlternatives(
        subject=one_line(subject),
        body=render_to_string(f"emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient],
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message
