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
not count as failures, so a lockout ends on time even under attack.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from compliance.audit import ACTOR_LABEL_MAX, audit_log
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


def locked_until(*, username: str, address: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When sign-in for ``username`` from ``address`` is allowed again, or ``None`` if it is now."""
    now = now or timezone.now()
    window = dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MINUTES)
    lockout = dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    recent = AuditEvent.objects.filter(action=FAILED, at__gt=now - window - lockout).order_by("at")
    checks = [(recent.filter(actor_label=_username_label(username)), settings.LOGIN_FAILURES_PER_USERNAME)]
    if address:
        checks.append((recent.filter(after__address=address), settings.LOGIN_FAILURES_PER_ADDRESS))
    ends = [
        lockout_end(list(failures.values_list("at", flat=True)), limit=limit, window=window, lockout=lockout)
        for failures, limit in checks
    ]
    ends = [end for end in ends if end is not None and end > now]
    return max(ends) if ends else None


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
        if locked_until(username=username, address=client_address(self.request)) is not None:
            self.locked_out = True
            record_sign_in(request=self.request, username=username, action=REFUSED, site=self.site)
            raise forms.ValidationError(LOCKED_OUT_MESSAGE, code="locked_out")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            record_sign_in(request=self.request, username=username, action=FAILED, site=self.site)
            raise
        record_sign_in(request=self.request, username=username, action=SIGNED_IN, user=self.get_user(), site=self.site)
        return cleaned


class SignInForm(ThrottledSignInMixin, AuthenticationForm):
    site = "portal"


class AdminSignInForm(ThrottledSignInMixin, AdminAuthenticationForm):
    site = "admin"
