import argparse
import getpass

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from compliance.audit import SYSTEM_ACTOR
from compliance.imports import KINDS, ImportRejected, ImportResult, run_import

FORMATS = """\
file formats (UTF-8 CSV, a header row, columns by name in any order):
  learners     email,first_name,last_name[,groups][,active][,manager_email]
               groups: names separated by ";" (the learner's exact set; empty clears)
               active: true/false (empty or absent: true)
  courses      code,title[,url]
  enrollments  email,course_code,enrolled_on[,started_on][,progress]
               dates YYYY-MM-DD; progress 0-100
  completions  email,course_code,completed_on
               completed_on: YYYY-MM-DD or an ISO date and time

The file is all or nothing: if any row is bad, every bad row is listed as
"line N: reason" and nothing is written. Use --dry-run to check a file first.
"""


def _shell_actor_label() -> str:
    """Who ran the command, for the audit log: "system (<OS user>)", or
    "system" when the OS cannot say."""
    try:
        return f"{SYSTEM_ACTOR} ({getpass.getuser()})"
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return SYSTEM_ACTOR


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's order of options, with the file formats below kept as written."""


class Command(BaseCommand):
    help = "Import learners, courses, enrollments or completions from a CSV file (all or nothing)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _HelpFormatter
        parser.epilog = FORMATS
        return parser

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(KINDS), help="what the file holds")
        parser.add_argument("file", metavar="FILE.csv", help="the CSV file to import")
        parser.add_argument("--dry-run", action="store_true", help="check the file and count, write nothing")

    def handle(self, *args, kind, file, dry_run=False, **options):
        try:
            result = run_import(kind=kind, path_or_file=file, dry_run=dry_run, actor_label=_shell_actor_label())
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from None
        except ImportRejected as exc:
            for problem in exc.problems:
                self.stderr.write(problem)
            bad = sum(problem.startswith("line ") for problem in exc.problems)
            summary = f"{bad} bad line(s)" if bad else "the file was refused"
            raise CommandError(f"{file}: {summary}; nothing was written.") from None
        self._report(result)

    def _report(self, result: ImportResult) -> None:
        rows = f"{result.rows} row{'' if result.rows == 1 else 's'}"
        if result.dry_run:
            counts = f"{result.created} to create, {result.updated} to update, {result.unchanged} unchanged"
            self.stdout.write(f"Dry run of {result.kind} from {result.file_name}: {counts} ({rows}).")
        else:
            counts = f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged"
            self.stdout.write(self.style.SUCCESS(f"Imported {result.kind} from {result.file_name}: {counts} ({rows})."))
        if result.groups_created:
            self.stdout.write(f"New groups: {result.groups_created}.")
        if result.enrollments_closed:
            self.stdout.write(f"Open enrollments closed by completions: {result.enrollments_closed}.")
        if result.dry_run:
            self.stdout.write("Nothing was written.")
        elif result.requirement_ids:
            self.stdout.write(f"Recompute queued for {len(result.requirement_ids)} requirement(s).")
