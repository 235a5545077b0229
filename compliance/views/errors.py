"""Error pages. An HTMX request gets only the message, which htmx swaps in
place (base.html lets 4xx responses swap), never a blank swap; it goes inside
the target, which stays, so the page keeps working."""

from django.shortcuts import render
from django_htmx.http import reswap


def _error(request, status: int, title: str, message: str):
    if getattr(request, "htmx", False):
        response = render(request, "errors/error.html#message", {"message": message}, status=status)
        return reswap(response, "innerHTML")
    return render(request, "errors/error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "Bad request", _message(exception, "The request could not be understood."))


def permission_denied(request, exception=None):
    return _error(request, 403, "Not allowed", _message(exception, "You do not have access to this page."))


def page_not_found(request, exception=None):
    return _error(request, 404, "Not found", "There is nothing at this address. It may have been deleted.")


def csrf_failure(request, reason: str = ""):
    return _error(
        request,
        403,
        "Your session has changed",
        "This form has expired, for example because you signed in again elsewhere. Reload the page and try again.",
    )


def server_error(request):
    return render(request, "errors/500.html", status=500)


def _message(exception, default: str) -> str:
    text = str(exception) if exception is not None else ""
    return text if text and not text.startswith(("<", "(")) else default
