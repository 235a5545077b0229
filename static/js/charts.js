/*
 * Draws the charts of a page with plotly.js (static/vendor/plotly-basic-*.min.js).
 *
 * Markup, made by the template:
 *
 *   {{ figure|json_script:"status-chart-data" }}
 *   <div class="chart" data-chart="status-chart-data" aria-hidden="true">
 *     optional fallback content, shown until (and unless) the chart is drawn
 *   </div>
 *   ...a table of the same numbers beside it: the text alternative.
 *
 * The value of data-chart is the id of the <script type="application/json">
 * element holding {"data": [...], "layout": {...}} (compliance/charts.py).
 * Drawn on DOMContentLoaded and again after every htmx swap settles, for the
 * charts not drawn yet (marked data-chart-drawn). Without window.Plotly, or
 * with missing or broken data, the fallback content stays.
 *
 * No eval, no inline script or handlers: runs under script-src 'self'.
 */
(function () {
  "use strict";

  var CONFIG = { displayModeBar: false, responsive: true };
  var DRAWN = "data-chart-drawn";

  function figureFor(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    if (!source) {
      return null;
    }
    try {
      var figure = JSON.parse(source.textContent);
      return figure && Array.isArray(figure.data) ? figure : null;
    } catch (error) {
      return null;
    }
  }

  function drawCharts() {
    if (!window.Plotly) {
      return;
    }
    var elements = document.querySelectorAll("[data-chart]:not([" + DRAWN + "])");
    Array.prototype.forEach.call(elements, function (element) {
      var figure = figureFor(element);
      if (!figure) {
        return;
      }
      element.setAttribute(DRAWN, "");
      element.replaceChildren(); // the fallback gives way to the chart
      window.Plotly.newPlot(element, figure.data, figure.layout || {}, CONFIG);
    });
  }

  // A chart that htmx is about to remove lets go of its resize listener.
  function purgeChart(event) {
    var element = event.target;
    if (window.Plotly && element.hasAttribute && element.hasAttribute(DRAWN)) {
      window.Plotly.purge(element);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawCharts);
  } else {
    drawCharts();
  }
  document.addEventListener("htmx:afterSettle", drawCharts);
  document.addEventListener("htmx:beforeCleanupElement", purgeChart);
})();
