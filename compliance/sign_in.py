"""Sign-in throttling and the audit of sign-ins.

Every sign-in attempt that reaches a password check is an audit event:
``auth.login`` (signed in), ``auth.login_failed`` (wrong username or password,
or an account that may not sign in here) and ``auth.login_refused`` (refused
unchecked, because of too many failures). The failures themselves are the
throttle's memory: after ``LOGIN_FAILURES_PER_USERNAME`` failures for one
username, or ``LOGIN_FAILURES_PER_ADDRESS`` from one client address, within
``LOGIN_FAILURE_WINDOW_MINUTES``, every sign-in with that username or from that
address is refused for ``LOGIN_LOCKOUT_MINUTES`` — before the password is
checked, with the same message whether or not the account exists. Refusals do
not count as failures, so a lockout ends on time even under attack, and only
the first refusal of a lockout is recorded, so an attack cannot flood the log.

Attempts for one username run one at a time (``lock_sign_in``: a PostgreSQL
advisory lock held by the transaction around check, password test and record;
SQLite's IMMEDIATE transactions serialise them), so parallel wrong passwords
cannot get more than ``LOGIN_FAILURES_PER_USERNAME`` password tests.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.utils import timezone

from compliance.audit import ACTOR_LABEL_MAX, audit_log
from compliance.locks import lock_sign_in
from compliance.models import AuditEvent

SIGNED_IN = "auth.login"
FAILED = "auth.login_failed"
REFUSED = "auth.login_refused"
LOCKED_OUT_MESSAGE = "Too many failed sign-ins. Sign-in is paused for a while; please try again later."


def client_address(request) -> str:
    """The client's IP address: ``REMOTE_ADDR``, or behind a trusted proxy the
    last address it appended to ``X-Forwarded-For``."""
    if settings.LOGIN_TRUST_X_FORWARDED_FOR:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1][:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


def _username_label(username: str) -> str:
    return username[:ACTOR_LABEL_MAX]


def lockout_end(failures: list[dt.datetime], *, limit: int, window: dt.timedelta, lockout: dt.timedelta):
    """The end of the latest lockout that ``failures`` (ascending) started, or ``None``:
    a lockout starts at a failure that is the ``limit``-th within ``window``."""
    end = None
    for index in range(limit - 1, len(failures)):
        if failures[index] - failures[index - limit + 1] <= window:
            end = failures[index] + lockout
    return end


def sign_in_events(action: str, *, username: str, address: str, since: dt.datetime):
    """Sign-in events of ``action`` from ``since`` on: for the username, and for the
    address (``None`` without one). Both lookups are indexed: (actor_label, at)
    and the address index of ``AuditEvent``."""
    recent = AuditEvent.objects.filter(action=action, at__gte=since)
    by_username = recent.filter(actor_label=_username_label(username))
    by_address = recent.filter(after__address=address) if address else None
    return by_username, by_address


def locked_until(*, username: str, address: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When sign-in for ``username`` from ``address`` is allowed again, or ``None`` if it is now."""
    now = now or timezone.now()
    window = dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    lockout = dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    by_username, by_address = sign_in_events(FAILED, username=username, address=address, since=now - window - lockout)
    checks = [(by_username, settings.LOGIN_FAILURES_PER_USERNAME)]
    if by_address is not None:
        checks.append((by_address, settings.LOGIN_FAILURES_PER_ADDRESS))
    ends = [
        lockout_end(
            list(failures.order_by("at").values_list("at", flat=True)), limit=limit, window=window, lockout=lockout
        )
        for failures, limit in checks
    ]
    ends = [end for end in ends if end is not None and end > now]
    return max(ends) if ends else None


def refusal_recorded(*, username: str, address: str, until: dt.datetime) -> bool:
    """Whether this lockout (ending at ``until``) already has a recorded refusal for
    the username or the address: only its first refusal is audited."""
    since = until - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    by_username, by_address = sign_in_events(REFUSED, username=username, address=address, since=since)
    return by_username.exists() or (by_address is not None and by_address.exists())


def record_sign_in(*, request, username: str, action: str, user=None, site: str) -> AuditEvent:
    """Audit one sign-in attempt: who (the username given), from where, and the outcome."""
    if user is None:
        user = get_user_model().objects.filter(username=username).first()
    outcome = {SIGNED_IN: "signed in", FAILED: "failed", REFUSED: "refused: too many failures"}[action]
    return audit_log(
        actor=user if action == SIGNED_IN else None,
        actor_label=_username_label(username),
        action=action,
        object_type="user",
        object_id=user.pk if user is not None else "",
        object_repr=username,
        after={"address": client_address(request), "site": site, "outcome": outcome},
    )


class ThrottledSignInMixin:
    """For an ``AuthenticationForm``: refuse while locked out, audit every attempt."""

    site = "portal"
    locked_out = False

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # nothing was tried: the field errors say what is missing
        with transaction.atomic():  # recorded before the error is raised, outside the block
            lock_sign_in(username)
            error = self._attempt(username)
        if error is not None:
            raise error
        return self.cleaned_data

    def _attempt(self, username: str) -> forms.ValidationError | None:
        """Check the lockout, then the password, and record the outcome; the error to raise, if any."""
        address = client_address(self.request)
        until = locked_until(username=username, address=address)
        if until is not None:
            self.locked_out = True
            if not refusal_recorded(username=username, address=address, until=until):
                record_sign_in(request=self.request, username=username, action=REFUSED, site=self.site)
            return forms.ValidationError(LOCKED_OUT_MESSAGE, code="locked_out")
        try:
            super().clean()
        except forms.ValidationError as error:
            record_sign_in(request=self.request, username=username, action=FAILED, site=self.site)
            return error
        record_sign_in(request=self.request, username=username, action=SIGNED_IN, user=self.get_user(), site=self.site)
        return None


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    site = "portal"


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    site = "admin"
