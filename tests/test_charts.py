"""The Overview figures (compliance/charts.py), the vendored bundles and, in a
real browser, static/js/charts.js drawing them."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import inspect
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.html import json_script

from compliance.charts import STATUS_COLOURS, month_label, monthly_completions_chart, status_donut
from compliance.rules import StatusCounts
from compliance.statuses import Status
from tests.conftest import CHROMIUM_FLAGS

STATIC = Path(settings.BASE_DIR) / "static"
VENDOR = STATIC / "vendor"
PLOTLY_BASIC = VENDOR / "plotly-basic-4.1.1.min.js"
HTMX = VENDOR / "htmx-2.0.11.min.js"


def counts(**by_slug: int) -> StatusCounts:
    return StatusCounts({status: by_slug.get(status.value, 0) for status in Status})


def twelve_months(values: list[int], *, first: dt.date = dt.date(2025, 12, 1)) -> list[tuple[dt.date, int]]:
    months = []
    year, month = first.year, first.month
    for value in values:
        months.append((dt.date(year, month, 1), value))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def strings_in(value) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return [value] if isinstance(value, str) else []


def annotation_texts(figure: dict) -> list[str]:
    return [annotation["text"] for annotation in figure["layout"].get("annotations", [])]


# --- The status donut ----------------------------------------------------------------


def test_status_colours_are_fixed_distinct_hex_colours_for_every_status():
    assert STATUS_COLOURS == {
        Status.COMPLIANT: "#009E73",
        Status.EXPIRING_SOON: "#E69F00",
        Status.EXPIRED: "#D55E00",
        Status.IN_PROGRESS: "#0072B2",
        Status.NOT_STARTED: "#6B7280",
    }
    assert len(set(STATUS_COLOURS.values())) == len(Status)


def test_donut_slices_are_the_five_statuses_in_order_with_labels_counts_and_colours():
    figure = status_donut(counts(compliant=30, expiring_soon=5, expired=3, in_progress=2, not_started=0))

    (pie,) = figure["data"]
    assert pie["type"] == "pie"
    assert pie["labels"] == ["Compliant", "Expiring Soon", "Expired", "In Progress", "Not Started"]
    assert pie["values"] == [30, 5, 3, 2, 0]  # a status with nobody keeps its place
    assert pie["marker"]["colors"] == ["#009E73", "#E69F00", "#D55E00", "#0072B2", "#6B7280"]
    assert pie["sort"] is False
    assert 0.5 <= pie["hole"] <= 0.7


def test_donut_order_and_colours_do_not_follow_the_sizes():
    figure = status_donut(counts(compliant=1, expiring_soon=2, expired=3, in_progress=4, not_started=50))

    (pie,) = figure["data"]
    assert pie["labels"][0] == "Compliant"
    assert pie["labels"][-1] == "Not Started"
    assert dict(zip(pie["labels"], pie["marker"]["colors"], strict=True)) == {
        status.label: colour for status, colour in STATUS_COLOURS.items()
    }


def test_donut_hover_shows_label_count_and_percent():
    (pie,) = status_donut(counts(compliant=1))["data"]
    assert pie["hovertemplate"] == "%{label}: %{value:,d} (%{percent:.1%})<extra></extra>"


def test_donut_shows_the_rate_rounded_down_in_its_centre():
    figure = status_donut(counts(compliant=30, expiring_soon=5, expired=3, in_progress=2))  # 35 / 40 = 87.5 %

    assert annotation_texts(figure)[0] == "87%"
    centre = figure["layout"]["annotations"][0]
    assert (centre["xref"], centre["yref"], centre["x"], centre["showarrow"]) == ("paper", "paper", 0.5, False)


def test_donut_shows_100_percent_only_when_everyone_is_valid_and_0_when_nobody_is():
    assert annotation_texts(status_donut(counts(compliant=3, expiring_soon=1)))[0] == "100%"
    assert annotation_texts(status_donut(counts(compliant=199, not_started=1)))[0] == "99%"
    assert annotation_texts(status_donut(counts(expired=2, not_started=1)))[0] == "0%"


def test_donut_with_nobody_in_scope_draws_no_slices_and_a_dash_never_a_percentage():
    figure = status_donut(counts())

    assert figure["data"] == []
    assert annotation_texts(figure) == ["—", "Nobody in scope"]
    assert figure["layout"]["xaxis"]["visible"] is False  # no empty axes either
    assert figure["layout"]["yaxis"]["visible"] is False
    assert "%" not in json.dumps(figure, ensure_ascii=False).replace("%{", "")


# --- Monthly completions ---------------------------------------------------------------


def test_monthly_chart_keeps_all_twelve_months_in_order_with_zero_months_as_zero():
    values = [3, 0, 5, 12, 7, 0, 0, 9, 14, 6, 2, 11]
    figure = monthly_completions_chart(twelve_months(values))

    (line,) = figure["data"]
    assert line["type"] == "scatter"
    assert line["mode"] == "lines+markers"
    assert line["y"] == values
    assert line["x"] == [
        "Dec 2025",
        "Jan 2026",
        "Feb 2026",
        "Mar 2026",
        "Apr 2026",
        "May 2026",
        "Jun 2026",
        "Jul 2026",
        "Aug 2026",
        "Sep 2026",
        "Oct 2026",
        "Nov 2026",
    ]


def test_monthly_chart_x_axis_is_categories_with_a_tick_for_every_month_and_the_span_under_them():
    figure = monthly_completions_chart(twelve_months([1] * 12, first=dt.date(2025, 5, 1)))

    xaxis = figure["layout"]["xaxis"]
    assert xaxis["type"] == "category"
    assert xaxis["tickvals"] == figure["data"][0]["x"]
    assert xaxis["ticktext"] == ["May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar", "Apr"]
    assert xaxis["title"]["text"] == "May 2025 \N{EN DASH} Apr 2026"


def test_month_label_is_short_month_and_year():
    assert month_label(dt.date(2026, 11, 1)) == "Nov 2026"
    assert month_label(dt.date(2025, 12, 1)) == "Dec 2025"


def test_monthly_chart_hover_says_month_and_completions():
    (line,) = monthly_completions_chart(twelve_months([0, 1, 12] + [0] * 8 + [1500]))["data"]

    assert line["hovertemplate"] == "%{text}<extra></extra>"
    assert line["text"][:3] == ["Dec 2025: 0 completions", "Jan 2026: 1 completion", "Feb 2026: 12 completions"]
    assert line["text"][-1] == "Nov 2026: 1,500 completions"
    assert line["mode"] == "lines+markers"  # the text shows on hover only


def test_monthly_chart_y_axis_starts_at_zero_with_whole_number_ticks():
    small = monthly_completions_chart(twelve_months([0, 6, 1, 2, 5, 0, 0, 0, 3, 0, 0, 1]))["layout"]["yaxis"]
    assert small["rangemode"] == "tozero"
    assert small["tickformat"] == ",d"
    assert (small["tickmode"], small["tick0"], small["dtick"]) == ("linear", 0, 1)
    assert "range" not in small  # 6 completions: plotly fits the range

    big = monthly_completions_chart(twelve_months([310, 1200, 5] + [0] * 9))["layout"]["yaxis"]
    assert big["rangemode"] == "tozero"
    assert big["tickformat"] == ",d"
    assert "dtick" not in big  # plotly's own steps are whole numbers at this size


def test_monthly_chart_without_completions_is_a_flat_line_on_a_0_to_4_axis():
    figure = monthly_completions_chart(twelve_months([0] * 12))

    assert figure["data"][0]["y"] == [0] * 12
    assert figure["layout"]["yaxis"]["range"] == [0, 4]
    assert figure["layout"]["yaxis"]["dtick"] == 1


# --- Both figures --------------------------------------------------------------------

FIGURES = {
    "donut": lambda: status_donut(counts(compliant=30, expiring_soon=5, expired=3, in_progress=2, not_started=1)),
    "empty donut": lambda: status_donut(counts()),
    "months": lambda: monthly_completions_chart(twelve_months([3, 0, 5, 12, 7, 0, 0, 9, 14, 6, 2, 11])),
}


@pytest.mark.parametrize("make", FIGURES.values(), ids=FIGURES.keys())
def test_figures_are_plain_json_that_round_trips(make):
    figure = make()

    assert set(figure) == {"data", "layout"}
    assert json.loads(json.dumps(figure)) == figure  # no tuples, enums, numpy or plotly types
    assert "template" not in figure["layout"]


@pytest.mark.parametrize("make", FIGURES.values(), ids=FIGURES.keys())
def test_figures_have_a_transparent_untitled_autosized_layout_without_a_legend(make):
    layout = make()["layout"]

    assert layout["showlegend"] is False  # the page's table with swatches is the legend
    assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "rgba(0,0,0,0)"
    assert "title" not in layout
    assert layout["autosize"] is True
    assert layout["font"]["family"].startswith("system-ui")
    assert all(layout["margin"][side] <= 16 for side in "lrtb")


def test_the_figures_take_no_text_from_their_caller():
    # Only numbers and dates go in, so no name a user typed can reach plotly's
    # label renderer (which reads a subset of HTML).
    def parameter_types(function):
        return [p.annotation for p in inspect.signature(function, eval_str=True).parameters.values()]

    assert parameter_types(status_donut) == [StatusCounts]
    assert parameter_types(monthly_completions_chart) == [Sequence[tuple[dt.date, int]]]
    with pytest.raises(ValueError):
        monthly_completions_chart([(dt.date(2026, 1, 1), "<img src=x onerror=alert(1)>")])


@pytest.mark.parametrize("make", FIGURES.values(), ids=FIGURES.keys())
def test_every_text_in_a_figure_comes_from_a_fixed_vocabulary(make):
    months = [month_label(month) for month, _ in twelve_months([0] * 12)]
    vocabulary = {
        *(status.label for status in Status),
        *months,
        *(re.sub(r" \d{4}$", "", m) for m in months),
        "Dec 2025 \N{EN DASH} Nov 2026",
        "—",
        "Nobody in scope",
        "compliance rate",
    }
    figure = make()
    texts = [
        *(text for trace in figure["data"] for key in ("labels", "x") for text in trace.get(key, [])),
        *annotation_texts(figure),
        *figure["layout"].get("xaxis", {}).get("ticktext", []),
        *([figure["layout"]["xaxis"]["title"]["text"]] if "title" in figure["layout"].get("xaxis", {}) else []),
    ]
    assert texts
    assert [text for text in texts if text not in vocabulary and not re.fullmatch(r"\d{1,3}%", text)] == []
    month_texts = [text for trace in figure["data"] for text in trace.get("text", [])]
    assert all(re.fullmatch(r"([A-Z][a-z]{2} \d{4}): [\d,]+ completions?", text)[1] in months for text in month_texts)
    assert [s for s in strings_in(figure) if "<" in s and not s.endswith("<extra></extra>")] == []


# --- The vendored bundles ----------------------------------------------------------------


def plotly_js_version(header: str) -> str:
    match = re.search(r"plotly\.js(?: \([^)]*\))? v(\d+\.\d+\.\d+)", header)
    assert match, header
    return match.group(1)


def test_vendored_files_and_their_licences_are_there():
    for name in (
        "htmx-2.0.11.min.js",
        "htmx-LICENSE.txt",
        "plotly-basic-4.1.1.min.js",
        "plotly-LICENSE.txt",
        "README.md",
    ):
        assert (VENDOR / name).stat().st_size > 0, name
    assert "Zero-Clause BSD" in (VENDOR / "htmx-LICENSE.txt").read_text()
    assert "MIT License" in (VENDOR / "plotly-LICENSE.txt").read_text()


def test_vendor_readme_names_each_file_with_its_package_and_version():
    readme = (VENDOR / "README.md").read_text()
    assert "`htmx-2.0.11.min.js` | 2.0.11 | `htmx.org@2.0.11`" in readme
    assert "`plotly-basic-4.1.1.min.js` | 4.1.1 | `plotly.js-basic-dist-min@4.1.1`" in readme


def test_vendored_files_are_the_versions_their_names_say():
    assert plotly_js_version(PLOTLY_BASIC.read_text()[:300]) == "4.1.1"
    assert "(basic - minified)" in PLOTLY_BASIC.read_text()[:300]
    assert 'version:"2.0.11"' in HTMX.read_text()


def test_vendored_plotly_js_is_the_version_the_installed_plotly_package_bundles():
    bundled = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
    with bundled.open(encoding="utf-8") as f:
        installed = plotly_js_version(f.read(300))
    assert plotly_js_version(PLOTLY_BASIC.read_text()[:300]) == installed, (
        f"plotly.py bundles plotly.js {installed}: vendor plotly.js-basic-dist-min@{installed} (static/vendor/README.md)"
    )


def test_charts_js_uses_no_eval_or_inline_handlers():
    source = (STATIC / "js" / "charts.js").read_text()
    assert not re.search(r"\beval\(|new Function|setTimeout\(\s*['\"]|innerHTML|\.on[a-z]+\s*=", source)


# --- In a real browser ---------------------------------------------------------------------

ORIGIN = "http://charts.test"
CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"


@pytest.fixture(scope="module")
def chromium_browser():
    """The system Chromium, shared by this module's browser tests."""
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        message = f"Chromium not found at {chromium} (apt-get install chromium, or set CHROMIUM_PATH)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; REQUIRE_BROWSER=1 makes this a failure")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def chart_page(chromium_browser):
    """A page whose requests to ``ORIGIN`` are answered from ``static/`` and
    from ``pages`` (path -> HTML), with ``CSP``; yields (page, pages, errors)."""
    pages: dict[str, str] = {}

    def answer(route):
        path = route.request.url.removeprefix(ORIGIN)
        headers = {"Content-Security-Policy": CSP}
        if path in pages:
            route.fulfill(status=200, body=pages[path], content_type="text/html; charset=utf-8", headers=headers)
        elif path.startswith("/static/") and (STATIC / path.removeprefix("/static/")).is_file():
            route.fulfill(status=200, path=str(STATIC / path.removeprefix("/static/")), headers=headers)
        else:
            route.fulfill(status=404, body="not found")

    context = chromium_browser.new_context(viewport={"width": 1000, "height": 800})
    context.route("**/*", answer)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None)
    try:
        yield page, pages, errors
    finally:
        context.close()


def chart_html(figures: dict[str, dict], *, scripts=("vendor/plotly-basic-4.1.1.min.js", "js/charts.js")) -> str:
    tags = "".join(f'<script src="/static/{src}" defer></script>' for src in scripts)
    body = "".join(
        f"{json_script(figure, name + '-data')}"
        f'<div class="chart" id="{name}" data-chart="{name}-data" style="width:480px;height:300px">'
        f'<p class="fallback">Chart: see the table.</p></div>'
        for name, figure in figures.items()
    )
    return f'<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">{tags}</head><body>{body}</body></html>'


def rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


@pytest.mark.browser
def test_charts_js_draws_both_figures_with_the_vendored_bundle(chart_page):
    page, pages, errors = chart_page
    pages["/"] = chart_html(
        {
            "donut": status_donut(counts(compliant=30, expiring_soon=5, expired=2, in_progress=2, not_started=1)),
            "empty": status_donut(counts()),
            "months": monthly_completions_chart(twelve_months([3, 0, 5, 12, 7, 0, 0, 9, 14, 6, 2, 11])),
        }
    )
    page.goto(ORIGIN + "/")
    page.wait_for_selector("#months .main-svg")

    for name in ("donut", "empty", "months"):
        assert page.get_attribute(f"#{name}", "data-chart-drawn") is not None
        assert page.locator(f"#{name} .fallback").count() == 0
    assert page.locator("#donut .slice").count() == 5
    fills = page.locator("#donut .slice path.surface").evaluate_all("paths => paths.map(p => p.style.fill)")
    assert fills == [rgb(STATUS_COLOURS[status]) for status in Status]
    assert page.locator("#donut .annotation-text").all_text_contents() == ["87%", "compliance rate"]
    assert page.locator("#empty .slice").count() == 0
    assert page.locator("#empty .annotation-text").all_text_contents() == ["—", "Nobody in scope"]
    assert page.locator("#months .xtick").count() == 12
    yticks = page.locator("#months .ytick text").all_text_contents()
    assert yticks[0] == "0"
    assert all(tick.replace(",", "").isdigit() for tick in yticks)

    point = page.locator("#months .scatterlayer .point").nth(3).bounding_box()
    page.mouse.move(point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)
    assert page.locator("#months .hovertext").text_content() == "Mar 2026: 12 completions"
    assert errors == []


@pytest.mark.browser
def test_without_plotly_the_fallback_stays(chart_page):
    page, pages, errors = chart_page
    pages["/"] = chart_html({"donut": status_donut(counts(compliant=1))}, scripts=("js/charts.js",))
    page.goto(ORIGIN + "/")
    page.wait_for_load_state("load")

    assert page.locator("#donut .fallback").inner_text() == "Chart: see the table."
    assert page.get_attribute("#donut", "data-chart-drawn") is None
    assert errors == []


@pytest.mark.browser
def test_a_chart_swapped_in_by_htmx_is_drawn_and_purged_when_swapped_out(chart_page):
    page, pages, errors = chart_page
    figure = monthly_completions_chart(twelve_months([1] * 12))
    pages["/"] = (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        '<script src="/static/vendor/htmx-2.0.11.min.js" defer></script>'
        '<script src="/static/vendor/plotly-basic-4.1.1.min.js" defer></script>'
        '<script src="/static/js/charts.js" defer></script></head><body>'
        '<div id="slot" hx-get="/part" hx-trigger="load">loading</div>'
        '<button id="clear" hx-get="/gone" hx-target="#slot">clear</button></body></html>'
    )
    pages["/part"] = chart_html({"swapped": figure}, scripts=())
    pages["/gone"] = '<p id="gone">cleared</p>'
    page.goto(ORIGIN + "/")
    page.wait_for_selector("#swapped .main-svg")
    assert page.get_attribute("#swapped", "data-chart-drawn") is not None

    page.evaluate(
        "() => { window.purged = []; const purge = Plotly.purge; Plotly.purge = (el) => (purged.push(el.id), purge(el)); }"
    )
    page.click("#clear")
    page.wait_for_selector("#gone")
    assert page.evaluate("window.purged") == ["swapped"]
    assert errors == []
