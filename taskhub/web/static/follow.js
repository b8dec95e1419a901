// taskhub dashboard (ours, no library): a region that follows a set of tasks.
// <section id="X" data-follow-tasks="ID ID ..." hx-get="..." hx-trigger="taskhub-follow">
// gets the DOM event "taskhub-follow" when a "taskhub-task" event (live.js) names one of its
// tasks: at most one each WAIT_MS, and the last change is never dropped (the timer fires
// after it, on the region as it is then: an outerHTML swap meanwhile replaced the element).
(function () {
  "use strict";
  var WAIT_MS = 500;
  var pending = {};
  document.body.addEventListener("taskhub-task", function (event) {
    var id = event.detail && event.detail.id;
    if (!id) return;
    document.querySelectorAll("[data-follow-tasks][id]").forEach(function (region) {
      var key = region.id;
      if (pending[key] || region.getAttribute("data-follow-tasks").split(" ").indexOf(id) < 0) return;
      pending[key] = setTimeout(function () {
        delete pending[key];
        var current = document.getElementById(key);
        if (current) htmx.trigger(current, "taskhub-follow");
      }, WAIT_MS);
    });
  });
})();
