// taskhub task history (templates/tasks.html): "select all on this page", and live rows.
// The first page's region (#task-rows[data-follow]) re-renders from its fragment (?fragment=rows)
// when a task changes (the "taskhub-task" DOM event from live.js): at most once a second, the
// last change never dropped (a trailing refresh), and never while a box is ticked, which the
// refresh would clear; a change missed meanwhile refreshes once every box is cleared.
(function () {
  "use strict";
  var INTERVAL_MS = 1000;
  var last = 0, timer = null, stale = false;

  function ticked() { return document.querySelector("input.pick:checked") !== null; }

  function refresh() {
    timer = null;
    var rows = document.getElementById("task-rows");
    if (!rows || !rows.hasAttribute("data-follow")) return;
    if (ticked()) {  // shown by CSS; the time lets a test know a refresh was held back
      stale = true;
      rows.setAttribute("data-stale", String(Date.now()));
      return;
    }
    stale = false;
    last = Date.now();
    htmx.trigger(rows, "taskhub-rows");
  }

  function schedule() {
    if (timer === null) timer = setTimeout(refresh, Math.max(0, last + INTERVAL_MS - Date.now()));
  }

  document.body.addEventListener("taskhub-task", schedule);
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.classList && box.classList.contains("pick-page")) {
      document.querySelectorAll("#task-rows tbody input.pick").forEach(function (row) {
        row.checked = box.checked;
      });
    }
    if (stale && !ticked()) schedule();
  });
})();
