import argparse
import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from compliance.dates import org_today
from compliance.demo import DemoError, DemoSeedResult, demo_seed
from compliance.recompute import RecomputeAlreadyRunning, RecomputeResult, recompute
from compliance.statuses import Status


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from None


class Command(BaseCommand):
    help = (
        "Build a realistic demo organisation (departments, learners, courses, six requirements and "
        "two to three years of completions) into an empty database; the same seed and day give the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=int, default=500, metavar="N", help="how many learners (default 500)")
        parser.add_argument("--seed", type=int, default=42, metavar="S", help="random seed (default 42)")
        parser.add_argument(
            "--today", type=_day, metavar="YYYY-MM-DD", help="the day the history ends (default: today)"
        )

    def handle(self, *args, learners=500, seed=42, today=None, **options):
        today = today or org_today()
        try:
            seeded = demo_seed(learners=learners, seed=seed, today=today)
        except DemoError as exc:
            raise CommandError(f"seed_demo: {exc}") from None
        try:
            result = recompute(trigger="seed", today=today)
        except RecomputeAlreadyRunning as exc:
            self.stdout.write(self.style.WARNING(f"Demo data written, but not recomputed: {exc}"))
            result = None
        self._print(seeded, result, seed=seed, today=today)

    def _print(self, seeded: DemoSeedResult, result: RecomputeResult | None, *, seed: int, today: dt.date) -> None:
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo organisation built (seed {seed}, history up to {today}):"))
        write(f"  learners      {seeded.learners} ({seeded.inactive} deactivated)")
        write(f"  groups        {seeded.groups}")
        write(f"  courses       {seeded.courses}")
        write(f"  requirements  {len(seeded.requirement_ids)}")
        write(f"  completions   {seeded.completions}")
        write(
            f"  enrollments   {seeded.enrollments_begun + seeded.enrollments_not_begun} open "
            f"({seeded.enrollments_begun} begun, {seeded.enrollments_not_begun} not begun)"
        )
        if result is None:
            return
        write(f"Statuses as of {result.as_of}:")
        write(f"  {'requirement':<28} " + " ".join(f"{s.label:>13}" for s in Status))
        for r in result.requirements:
            write(f"  {r.requirement_name[:28]:<28} " + " ".join(f"{r.counts[s]:>13}" for s in Status))
