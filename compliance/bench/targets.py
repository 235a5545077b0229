"""The issue's targets, judged against the figures: PASS or FAIL per line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    figure: str
    value: str
    target: str
    passed: bool | None  # None: shown, not judged

    @property
    def label(self) -> str:
        return {True: "PASS", False: "FAIL", None: "-"}[self.passed]

    def as_dict(self) -> dict:
        return {"figure": self.figure, "value": self.value, "target": self.target, "result": self.label}


def _at_most(figure: str, value: float, limit: float, unit: str) -> Verdict:
    return Verdict(figure, f"{value:g} {unit}", f"<= {limit:g} {unit}", value <= limit)


def judge(figures: dict) -> list[Verdict]:
    verdicts = []
    recompute = figures["recompute"]
    floor = figures["floor"]["median_s"]
    first = recompute["first"]["median_s"]
    ratio = round(first / floor, 1) if floor else float("inf")
    verdicts += [
        _at_most(f"full recompute, first run ({recompute['pairs']:,} pairs), median", first, 10, "s"),
        Verdict("plain-SQL floor (INSERT … SELECT), median", f"{floor:g} s", "", None),
        _at_most("full recompute / floor", ratio, 2.5, "x"),
        Verdict(
            "re-run with nothing changed: rows written",
            str(recompute["unchanged"]["rows_written"]),
            "= 0",
            recompute["unchanged"]["rows_written"] == 0,
        ),
        Verdict("re-run with nothing changed, median", f"{recompute['unchanged']['median_s']:g} s", "", None),
        Verdict(
            f"recompute after 1 % new completions ({recompute['one_percent']['new_completions']:,}), median",
            f"{recompute['one_percent']['median_s']:g} s",
            "",
            None,
        ),
    ]
    for name, page in figures["pages"].items():
        limit = 150 if name == "dashboard" or name.startswith("report") else 200
        verdicts.append(_at_most(f"{name}, p95 ({page['queries']} queries)", page["p95_ms"], limit, "ms"))
    export = figures["export"]
    verdicts += [
        Verdict(
            f"export of {export['rows']:,} rows: rows/s",
            f"{export['rows_per_second']:,}",
            ">= 100,000",
            export["rows_per_second"] >= 100_000,
        ),
        _at_most("export: first byte (the header), p95", export["first_byte"]["p95_ms"], 1000, "ms"),
        # The header goes out before the query runs: the first row is held to the same limit.
        _at_most("export: first row, p95", export["first_row"]["p95_ms"], 1000, "ms"),
        _at_most("export: peak memory growth", export["memory_growth_mb"], 50, "MB"),
    ]
    remediation = figures["remediation"]
    verdicts += [
        _at_most(
            f"Remediate All of {remediation['enrolled']:,} ({remediation['tab']}), p95",
            remediation["first"]["p95_ms"],
            1000,
            "ms",
        ),
        Verdict(
            "Remediate All repeated: learners enrolled",
            str(remediation["repeat"]["enrolled"]),
            "= 0",
            remediation["repeat"]["enrolled"] == 0,
        ),
        Verdict("Remediate All repeated, p95", f"{remediation['repeat']['p95_ms']:g} ms", "", None),
    ]
    return verdicts


def table(verdicts: list[Verdict]) -> list[str]:
    width = max(len(v.figure) for v in verdicts)
    lines = [f"{'figure':<{width}}  {'value':>14}  {'target':>14}  result"]
    lines += [f"{v.figure:<{width}}  {v.value:>14}  {v.target:>14}  {v.label}" for v in verdicts]
    return lines
