// taskhub dashboard: toasts in the top-right for the workspace's task outcomes, from the live
// channel's "taskhub-notification" DOM events (see live.js). A completed task shows a success
// toast, a failed one an error toast with its description; each links to its task and goes
// away after a few seconds or when closed. Plain JS, no library.
(function () {
  "use strict";
  var SHOWN_MS = { success: 6000, error: 10000 };
  var SHOWN = { completed: "success", failed: "error" };  // outcome -> toast style

  function container() {
    var found = document.getElementById("toasts");
    if (found) return found;
    found = document.createElement("div");
    found.id = "toasts";
    found.className = "toasts";
    found.setAttribute("aria-live", "polite");
    document.body.appendChild(found);
    return found;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function show(note) {
    var style = SHOWN[note.outcome];
    if (!style) return;
    var toast = element("div", "toast toast-" + style);
    toast.setAttribute("role", style === "error" ? "alert" : "status");
    toast.setAttribute("data-task", note.task_id);
    var link = element("a", "toast-title", note.title);
    link.href = "/tasks/" + encodeURIComponent(note.task_id);
    var close = element("button", "toast-close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    toast.appendChild(link);
    toast.appendChild(close);
    if (style === "error" && note.description) {
      toast.appendChild(element("p", "toast-text", note.description));
    }
    var timer = window.setTimeout(dismiss, SHOWN_MS[style]);
    function dismiss() {
      window.clearTimeout(timer);
      if (toast.parentNode) toast.parentNode.removeChild(toast);
    }
    close.addEventListener("click", dismiss);
    container().appendChild(toast);
  }

  document.body.addEventListener("taskhub-notification", function (event) {
    if (event.detail && event.detail.task_id) show(event.detail);
  });
})();
