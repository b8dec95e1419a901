// taskhub task page (taskhub's own code, no library): output tabs, Copy to the clipboard, and
// keeping what a person opened (step details, the output tab shown) when the live region
// #task-live is re-rendered by htmx (GET /tasks/ID/live?open=STEP&tab=OUTPUT). Handlers are
// delegated from document, so they keep working on the swapped-in markup.
(function () {
  "use strict";

  function selectTab(tab, focus) {
    var list = tab.closest("[role=tablist]");
    list.querySelectorAll("[role=tab]").forEach(function (other) {
      var chosen = other === tab;
      other.setAttribute("aria-selected", chosen ? "true" : "false");
      other.tabIndex = chosen ? 0 : -1;
      var panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = !chosen;
    });
    if (focus) tab.focus();
  }

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copied");
    navigator.clipboard.writeText(source ? source.textContent : "").then(
      function () { if (status) status.textContent = "Copied"; },
      function () { if (status) status.textContent = "Could not copy"; }
    );
  }

  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[role=tab]");
    if (tab) { selectTab(tab, false); return; }
    var button = event.target.closest("button[data-copy]");
    if (button) copy(button);
  });

  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tab]");
    if (!tab) return;
    var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll("[role=tab]"));
    var at = tabs.indexOf(tab), next = null;
    if (event.key === "ArrowRight") next = tabs[(at + 1) % tabs.length];
    else if (event.key === "ArrowLeft") next = tabs[(at - 1 + tabs.length) % tabs.length];
    else if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    if (next) { event.preventDefault(); selectTab(next, true); }
  });

  // The live region's refresh says which step details are open and which tab is shown.
  document.addEventListener("htmx:configRequest", function (event) {
    var region = event.detail.elt;
    if (!region || region.id !== "task-live") return;
    var open = [];
    region.querySelectorAll("details[open][data-step]").forEach(function (details) {
      open.push(details.getAttribute("data-step"));
    });
    var tab = region.querySelector("[role=tab][aria-selected=true]");
    if (open.length) event.detail.parameters.open = open;
    if (tab) event.detail.parameters.tab = tab.getAttribute("data-tab");
  });

  // Changes made before the live channel opened (or while it reconnected) were not heard:
  // re-read the region each time it opens.
  var region = document.getElementById("task-live");
  if (region && window.MutationObserver) {
    new MutationObserver(function () {
      if (document.body.getAttribute("data-live") === "open" && window.htmx) {
        window.htmx.trigger(region, "taskhub-refresh");
      }
    }).observe(document.body, { attributes: true, attributeFilter: ["data-live"] });
  }
})();
