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

(function () {
  "use strict";

  // After htmx swaps content in: read its summary out through the page's one
  // stable live region (a region that is itself swapped is not reliably
  // announced), and if the focused element was swapped away without a
  // same-id successor (e.g. "Next" on the last page), focus the summary.
  // A one-off message marked [data-announce-now] (what an action just did) is
  // read out, and focused when focusable, instead of the summary. htmx settles
  // each swapped element (out-of-band ones too) separately: announce once, after
  // the last of them.
  var announceQueued = false;
  document.addEventListener("htmx:afterSettle", function () {
    if (announceQueued) return;
    announceQueued = true;
    setTimeout(function () { announceQueued = false; announceSwap(); }, 0);
  });

  function announceSwap() {
    var oneOff = document.querySelector("[data-announce-now]");
    var summary = oneOff || document.querySelector("[data-announce]");
    var announcer = document.getElementById("announcer");
    if (oneOff) oneOff.removeAttribute("data-announce-now");
    if (summary && announcer) announcer.textContent = summary.textContent.replace(/\s+/g, " ").trim();
    var focusLost = document.activeElement === document.body || !document.activeElement;
    if (summary && summary.tabIndex === -1 && (focusLost || oneOff)) summary.focus();
  }

  // Dialogs that htmx fills (e.g. Remediate All's confirmation): shown as a
  // modal once their content arrives; closed by [data-close-dialog] (a link
  // that, without JavaScript, leads back) and once the form inside succeeded.
  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.detail.target && event.detail.target.closest && event.detail.target.closest("dialog");
    if (dialog && !dialog.open) {
      dialog.showModal();
      // A mass change cannot be undone from here: start on the way out (the
      // content's own Cancel, else the dialog's Close).
      var body = event.detail.target;
      var safest = body.querySelector("[data-close-dialog]") || dialog.querySelector("[data-close-dialog]");
      if (safest) safest.focus();
    }
  });
  document.addEventListener("click", function (event) {
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    var dialog = closer && closer.closest("dialog");
    if (dialog) { event.preventDefault(); dialog.close(); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var dialog = event.detail.elt.closest && event.detail.elt.closest("dialog");
    // A refused request leaves its message in the dialog, which stays open.
    if (dialog && event.detail.elt.tagName === "FORM" && event.detail.successful && dialog.open) dialog.close();
  });
})();
