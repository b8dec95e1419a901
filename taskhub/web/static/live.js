// taskhub dashboard: one EventSource per page (/live/events), re-dispatched as DOM events on
// document.body: "taskhub-task" (detail: the task change, as /api/v1/events sends it) and
// "taskhub-notification" (detail: the notification). Page regions follow them with htmx:
//   hx-trigger="taskhub-task[detail.id=='ID'] from:body"
// The browser reconnects by itself after an error, sending Last-Event-ID.
(function () {
  "use strict";
  if (!document.body || !document.body.hasAttribute("data-live")) return;
  var source = new EventSource("/live/events");
  ["task", "notification"].forEach(function (kind) {
    source.addEventListener(kind, function (message) {
      var detail;
      try { detail = JSON.parse(message.data); } catch (e) { return; }
      document.body.dispatchEvent(new CustomEvent("taskhub-" + kind, { detail: detail }));
    });
  });
  source.addEventListener("open", function () { document.body.setAttribute("data-live", "open"); });
  window.addEventListener("pagehide", function () { source.close(); });
})();
