import json
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from compliance.bench.database import BenchRefused, bench_database, require_postgresql
from compliance.bench.runner import run_benchmark
from compliance.bench.targets import Verdict, table


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Benchmark the app at enterprise scale on PostgreSQL, in a database of its own that is dropped at the end "
        "(docs/performance.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--learners", type=positive, default=100_000, help="size of the organisation")
        parser.add_argument("--seed", type=int, default=1, help="the same seed builds the same organisation")
        parser.add_argument("--runs", type=positive, default=5, help="timed runs of each figure")
        parser.add_argument(
            "--page-runs",
            type=positive,
            default=20,
            help="timed runs of each page: with 20 the p95 is the 19th, not just the slowest",
        )
        parser.add_argument("--out", default="bench-results.json", help="where the figures go, as JSON")

    def handle(self, *args, learners, seed, runs, page_runs, out, **options):
        try:
            require_postgresql()
        except BenchRefused as refusal:
            raise CommandError(str(refusal)) from None
        with bench_database() as name:
            self.stdout.write(f"Benchmark database {name} (dropped at the end)")
            call_command("migrate", verbosity=0, interactive=False)
            figures = run_benchmark(learners=learners, seed=seed, runs=runs, page_runs=page_runs, say=self.stdout.write)
        verdicts = [Verdict(v["figure"], v["value"], v["target"], _passed(v["result"])) for v in figures["verdicts"]]
        self.stdout.write("")
        for line in table(verdicts):
            self.stdout.write(line)
        Path(out).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        failed = sum(1 for v in verdicts if v.passed is False)
        summary = f"{failed} target(s) FAILED" if failed else "every target PASSED"
        self.stdout.write(f"\n{summary}; figures written to {out}")


def _passed(label: str) -> bool | None:
    return {"PASS": True, "FAIL": False}.get(label)
