from django.db import DatabaseError
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from compliance.selectors import last_successful_full_recompute, recompute_is_stale


@never_cache
@require_GET
def healthz(request):
    """``ok`` when the database answers; the second line gives the last successful recompute."""
    try:
        last_run = last_successful_full_recompute()
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    finished = last_run.finished_at.isoformat() if last_run else "never"
    return HttpResponse(f"ok\nlast recompute: {finished}\n", content_type="text/plain")


@never_cache
@require_GET
def healthz_recompute(request):
    """For monitors: 200 while the last successful full recompute is recent
    (``RECOMPUTE_STALE_HOURS``), 503 when it is older or there is none."""
    try:
        last_run = last_successful_full_recompute()
        stale = recompute_is_stale()
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    finished = last_run.finished_at.isoformat() if last_run else "never"
    state = "stale" if stale else "ok"
    return HttpResponse(
        f"{state}\nlast recompute: {finished}\n", status=503 if stale else 200, content_type="text/plain"
    )
