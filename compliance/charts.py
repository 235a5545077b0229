"""Plotly figures for the Overview page, as plain JSON-able dicts.

Each function builds its figure with ``plotly.graph_objects`` (which checks
every property name and value) and returns ``{"data": [...], "layout": {...}}``
made of plain Python types only, so ``json.dumps`` (and Django's
``json_script``) handle it without plotly's encoder. The page hands it to
``static/js/charts.js`` through ``json_script``; the script draws it with the
vendored plotly.js basic bundle (``static/vendor/README.md``) and sets the
config (no mode bar, responsive).

No user-entered text goes into a figure: the inputs are counts, a rate and
first-of-month dates, and every string in the output comes from this module
(the status labels of ``compliance.statuses.Status``, month names, fixed
notes). Requirement, course and learner names never reach plotly's label
renderer, which interprets a subset of HTML in labels.

Each chart needs a text alternative on the page (the counts table, the rate in
text); the figures carry no title because the page has the headings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import plotly.graph_objects as go

from compliance.rules import StatusCounts
from compliance.statuses import Status

#: One fixed colour per status (Okabe-Ito, safe for the common colour-vision
#: deficiencies; grey for Not Started). Templates and CSS match these.
STATUS_COLOURS: dict[Status, str] = {
    Status.COMPLIANT: "#009E73",
    Status.EXPIRING_SOON: "#E69F00",
    Status.EXPIRED: "#D55E00",
    Status.IN_PROGRESS: "#0072B2",
    Status.NOT_STARTED: "#6B7280",
}

#: The line colour of the monthly completions chart.
COMPLETIONS_COLOUR = "#0072B2"

NO_RATE = "—"
NOBODY_IN_SCOPE = "Nobody in scope"

FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
TEXT_COLOUR = "#111827"  # --fg in static/css/app.css
MUTED_COLOUR = "#4b5563"  # --muted
GRID_COLOUR = "#e3e7ee"  # --line
TRANSPARENT = "rgba(0,0,0,0)"

#: Up to this many completions in the busiest month, the y axis ticks every 1.
#: Above it plotly's own ticks are whole numbers already (steps of 1, 2, 5, ...).
UNIT_TICKS_UP_TO = 8
#: The smallest y range, so that one or two completions do not fill the chart.
MIN_Y_RANGE = 4


def status_donut(counts: StatusCounts) -> dict:
    """A donut of the five statuses in ``Status`` order with the compliance
    rate in its hole ("87%", or "—" with nobody in scope)."""
    statuses = list(Status)
    annotations = [_centre_text(NO_RATE if counts.rate is None else f"{counts.rate}%", size=30, y=0.54)]
    if counts.total == 0:
        # No slices, no axes: only the "—" and why.
        annotations.append(_centre_text(NOBODY_IN_SCOPE, size=13, y=0.42, colour=MUTED_COLOUR))
        layout = _layout(
            annotations=annotations,
            xaxis={"visible": False},
            yaxis={"visible": False},
            showlegend=False,
        )
        return _plain(go.Figure(layout=layout))
    annotations.append(_centre_text("compliance rate", size=12, y=0.42, colour=MUTED_COLOUR))
    pie = go.Pie(
        labels=[status.label for status in statuses],
        values=[counts[status] for status in statuses],
        marker={"colors": [STATUS_COLOURS[status] for status in statuses], "line": {"color": "#ffffff", "width": 2}},
        sort=False,
        direction="clockwise",
        rotation=0,
        hole=0.6,
        textinfo="none",
        hovertemplate="%{label}: %{value:,d} (%{percent:.1%})<extra></extra>",
    )
    # No plotly legend: the page shows the counts as a table with colour
    # swatches beside the chart (its text alternative and its legend).
    layout = _layout(annotations=annotations, showlegend=False)
    return _plain(go.Figure(data=[pie], layout=layout))


def monthly_completions_chart(months: Sequence[tuple[dt.date, int]]) -> dict:
    """A line of completions per month; ``months`` is ``(first_of_month, count)``
    pairs, oldest first (12 of them on the Overview)."""
    labels = [month_label(month) for month, _ in months]
    counts = [int(count) for _, count in months]
    peak = max(counts, default=0)
    line = go.Scatter(
        x=labels,
        y=counts,
        mode="lines+markers",
        line={"color": COMPLETIONS_COLOUR, "width": 2},
        marker={"color": COMPLETIONS_COLOUR, "size": 7},
        cliponaxis=False,
        # The hover names the month in full; %{x} would show the short tick.
        text=[
            f"{label}: {count:,} completion{'' if count == 1 else 's'}"
            for label, count in zip(labels, counts, strict=True)
        ],
        hovertemplate="%{text}<extra></extra>",
    )
    yaxis = {
        "rangemode": "tozero",
        "tickformat": ",d",
        "gridcolor": GRID_COLOUR,
        "zeroline": True,
        "zerolinecolor": GRID_COLOUR,
        "fixedrange": True,
        "automargin": True,
        "tickfont": {"size": 12},
    }
    if peak <= UNIT_TICKS_UP_TO:
        yaxis.update(tickmode="linear", tick0=0, dtick=1)
    if peak < MIN_Y_RANGE:
        yaxis.update(range=[0, MIN_Y_RANGE], autorange=False)
    layout = _layout(
        showlegend=False,
        xaxis={
            "type": "category",
            # Short one-line ticks ("Dec") that stay level on a wide card and
            # tilt cleanly on a phone; the span under them names the years.
            "tickmode": "array",
            "tickvals": labels,
            "ticktext": [_MONTHS[month.month - 1] for month, _ in months],
            "autotickangles": [0, 45],
            "title": {"text": _span(labels), "font": {"size": 12, "color": MUTED_COLOUR}, "standoff": 8},
            "tickfont": {"size": 12},
            "automargin": True,
            "showgrid": False,
            "fixedrange": True,
        },
        yaxis=yaxis,
        hovermode="closest",
    )
    return _plain(go.Figure(data=[line], layout=layout))


def month_label(first_of_month: dt.date) -> str:
    """ "Dec 2025", independent of the locale."""
    return f"{_MONTHS[first_of_month.month - 1]} {first_of_month.year}"


def _span(labels: list[str]) -> str:
    """The first and last month with an en dash ("Dec 2025 \N{EN DASH} Nov 2026"), or ""."""
    return f"{labels[0]} \N{EN DASH} {labels[-1]}" if labels else ""


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _centre_text(text: str, *, size: int, y: float, colour: str = TEXT_COLOUR) -> dict:
    return {
        "text": text,
        "x": 0.5,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "middle",
        "showarrow": False,
        "font": {"size": size, "color": colour},
    }


def _layout(**layout) -> go.Layout:
    return go.Layout(
        template=go.layout.Template(),  # no plotly.py default template in the JSON
        autosize=True,
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        font={"family": FONT_FAMILY, "size": 13, "color": TEXT_COLOUR},
        hoverlabel={"font": {"family": FONT_FAMILY}},
        margin={"l": 8, "r": 8, "t": 8, "b": 8, "pad": 0},
        **layout,
    )


def _plain(figure: go.Figure) -> dict:
    """``{"data": [...], "layout": {...}}`` of plain Python types only."""
    as_json = figure.to_plotly_json()
    layout = dict(as_json["layout"])
    layout.pop("template", None)
    return {"data": _plain_value(as_json["data"]), "layout": _plain_value(layout)}


def _plain_value(value):
    if isinstance(value, dict):
        return {str(key): _plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_value(item) for item in value]
    if isinstance(value, str):
        return str(value)  # a str subclass (an enum member) becomes a plain str
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"not a plain JSON value in a figure: {type(value).__name__}")
