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
