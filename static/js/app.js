// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Tab strips ([data-arrow-keys]): Left/Right/Home/End move focus between the
  // links, as in a tab list; Enter or Space follows the focused one.
  document.addEventListener("keydown", function (event) {
    var strip = event.target.closest && event.target.closest("[data-arrow-keys]");
    if (!strip || event.target.tagName !== "A") return;
    var links = Array.prototype.slice.call(strip.querySelectorAll("a[href]"));
    var index = links.indexOf(event.target);
    var next = null;
    if (event.key === "ArrowRight") next = links[(index + 1) % links.length];
    else if (event.key === "ArrowLeft") next = links[(index - 1 + links.length) % links.length];
    else if (event.key === "Home") next = links[0];
    else if (event.key === "End") next = links[links.length - 1];
    else if (event.key === " ") { event.preventDefault(); event.target.click(); return; }
    if (next) { event.preventDefault(); next.focus(); }
  });
})();

// After htmx swaps content in: read its summary out through the page's one
// stable live region (a region that is itself swapped is not reliably
// announced), and if the focused element was swapped away without a
// same-id successor (e.g. "Next" on the last page), focus the summary.
document.addEventListener("htmx:afterSettle", function () {
  var summary = document.querySelector("[data-announce]");
  var announcer = document.getElementById("announcer");
  if (summary && announcer) announcer.textContent = summary.textContent.replace(/\s+/g, " ").trim();
  if (summary && summary.tabIndex === -1 && (document.activeElement === document.body || !document.activeElement)) {
    summary.focus();
  }
});
