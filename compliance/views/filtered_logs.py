"""What the audit log and the notifications log pages share: filtered pages of
rows whose links keep the filters, swapped in place by HTMX."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render
from django_htmx.http import push_url

from compliance.views.access import partial_for_htmx


def with_query(url: str, query: dict[str, str], page: int = 1) -> str:
    """``url`` with the filters (``query``, empty ones already left out) and the page when past the first."""
    query = query | ({"page": str(page)} if page > 1 else {})
    return f"{url}?{urlencode(query)}" if query else url


def log_links(*, page_url: str, export_url: str, query: dict[str, str], number: int) -> dict[str, str]:
    return {
        "export": with_query(export_url, query),
        "previous": with_query(page_url, query, number - 1),
        "next": with_query(page_url, query, number + 1),
        "current": with_query(page_url, query, number),
    }


def render_log(request, template: str, context: dict, links: dict[str, str]):
    """The page, or for an HTMX request only its results; the address bar gets
    the filters as they were understood (empty ones left out)."""
    context = context | {"links": links, "time_zone": settings.TIME_ZONE}
    template_name = partial_for_htmx(request, template, "results")
    response = render(request, template_name, context)
    if template_name.endswith("#results"):
        push_url(response, links.get("current") or request.get_full_path())
    return response
