// taskhub dashboard: the task panel, a slide-over opened from the top bar's ".panel-toggle".
// It shows GET /panel (the workspace's 100 most recently changed tasks) and, while open,
// re-fetches it on "taskhub-task" events from the live channel: at most once per REFRESH_MS,
// and once more after the last event of a burst, so a final status is never missed.
(function () {
  "use strict";
  var REFRESH_MS = 1000;
  var panel = document.getElementById("task-panel");
  var body = document.getElementById("task-panel-body");
  var toggle = document.querySelector(".panel-toggle");
  if (!panel || !body || !toggle) return;
  var last = 0;
  var pending = null;

  function refresh() {
    pending = null;
    last = Date.now();
    window.htmx.ajax("GET", "/panel", { target: body, swap: "innerHTML" });
  }

  function soon() {
    if (panel.hidden || pending !== null) return;
    pending = window.setTimeout(refresh, Math.max(0, last + REFRESH_MS - Date.now()));
  }

  function open(isOpen) {
    panel.hidden = !isOpen;
    toggle.setAttribute("aria-expanded", String(isOpen));
    if (isOpen) {
      if (pending !== null) window.clearTimeout(pending);
      refresh();
    }
  }

  toggle.addEventListener("click", function () { open(panel.hidden); });
  panel.querySelector(".panel-close").addEventListener("click", function () { open(false); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) open(false);
  });
  document.body.addEventListener("taskhub-task", soon);
})();
