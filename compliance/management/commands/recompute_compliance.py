from django.core.management.base import BaseCommand, CommandError

from compliance.models import Requirement
from compliance.recompute import RecomputeAlreadyRunning, RecomputeFailed, recompute
from compliance.statuses import Status


class Command(BaseCommand):
    help = "Recompute the stored compliance state of every requirement, or of one (the nightly job, by hand)."

    def add_arguments(self, parser):
        parser.add_argument("--requirement", type=int, metavar="ID", help="only this requirement")
        parser.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")

    def handle(self, *args, requirement=None, dry_run=False, **options):
        ids = None
        if requirement is not None:
            if not Requirement.objects.filter(pk=requirement).exists():
                raise CommandError(f"requirement {requirement} does not exist")
            ids = [requirement]
        try:
            result = recompute(requirement_ids=ids, trigger="command", dry_run=dry_run)
        except RecomputeAlreadyRunning as exc:
            raise CommandError(f"already running: {exc}") from None
        except RecomputeFailed as exc:
            self._print(exc.result)
            for failure in exc.failures:
                self.stderr.write(failure)
            raise CommandError(f"{len(exc.failures)} requirement(s) failed; the others were recomputed.") from None
        self._print(result)

    def _print(self, result):
        labels = [s.label for s in Status]
        self.stdout.write(f"As of {result.as_of}{' (dry run: nothing written)' if result.dry_run else ''}")
        header = (
            f"{'requirement':<40} " + " ".join(f"{label:>13}" for label in labels) + f" {'total':>7} {'changes':>8}"
        )
        self.stdout.write(header)
        for r in result.requirements:
            cells = " ".join(f"{r.counts[s]:>13}" for s in Status)
            self.stdout.write(f"{r.requirement_name[:40]:<40} {cells} {r.counts.total:>7} {r.changes:>8}")
        totals = result.total_counts()
        cells = " ".join(f"{totals[s]:>13}" for s in Status)
        self.stdout.write(f"{'all':<40} {cells} {totals.total:>7} {result.changes:>8}")
        verb = "would change" if result.dry_run else "changed"
        self.stdout.write(
            self.style.SUCCESS(f"{len(result.requirements)} requirement(s); {result.changes} status(es) {verb}.")
        )
