"""Write the evidence as CSV files to a folder: for operators checking a backup.

Every requirement's report (everyone in scope, as the portal's export), the
whole audit log (as its export), and on PostgreSQL a digest of every table of
the app and of the accounts. Reads only, and records no audit event: two runs
over the same data write identical folders, which ``scripts/backup_restore_check.sh``
compares before a backup and after its restore.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from compliance.audit_log import AUDIT_EXPORT_HEADER, audit_export_rows
from compliance.dates import org_today
from compliance.exports import REPORT_EXPORT_HEADER, csv_chunks, report_export_rows, requirement_slug
from compliance.models import AuditEvent, Requirement

DIGESTED_APPS = ("compliance", "auth")


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Write every requirement's report, the audit log and table digests as files to a folder."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write (created if missing)")
        parser.add_argument("--as-of", type=_day, metavar="YYYY-MM-DD", help="the day statuses are computed for")

    def handle(self, *args, out: str, as_of: dt.date | None = None, **options):
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        today = as_of or org_today()
        requirements = list(Requirement.objects.order_by("pk"))
        for requirement in requirements:
            rows = report_export_rows(requirement, today, status=None, query="")
            _write(folder / f"report-{requirement.pk}-{requirement_slug(requirement)}.csv", REPORT_EXPORT_HEADER, rows)
        _write(
            folder / "audit-log.csv", AUDIT_EXPORT_HEADER, audit_export_rows(AuditEvent.objects.order_by("at", "id"))
        )
        if connection.vendor == "postgresql":
            (folder / "tables.txt").write_text("".join(f"{line}\n" for line in _table_digests()))
        self.stdout.write(f"{len(requirements)} report(s) and the audit log written to {folder} (as of {today})")


def _write(path: Path, header, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        for chunk in csv_chunks(header, rows):
            file.write(chunk)


def _table_digests() -> list[str]:
    """``table rows md5`` of every table of ``DIGESTED_APPS``, its rows in a fixed order."""
    lines = []
    with connection.cursor() as cursor:
        for app_label in DIGESTED_APPS:
            models = apps.get_app_config(app_label).get_models(include_auto_created=True)
            for model in sorted(models, key=lambda m: m._meta.db_table):
                if not model._meta.managed or model._meta.proxy:
                    continue  # the recompute's temporary tables
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
                )
                count, digest = cursor.fetchone()
                lines.append(f"{model._meta.db_table} {count} {digest}")
    return lines
