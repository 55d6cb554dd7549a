// Belay's small progressive script: everything works without it; with it, the war room updates live,
// the update box previews what the public will read, and the timeline can be filtered.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var room = document.querySelector(".warroom");
  if (!room) return;
  var id = room.getAttribute("data-incident");

  // Preview: exactly the status label and text the public page will show (text only, never HTML).
  var message = document.getElementById("update-message");
  var status = document.getElementById("update-status");
  var preview = document.getElementById("update-preview");
  function renderPreview() {
    if (!preview) return;
    var label = preview.getAttribute("data-current");
    if (status && status.value) label = status.options[status.selectedIndex].text;
    preview.querySelector(".preview-status").textContent = label;
    preview.querySelector(".preview-message").textContent = message ? message.value : "";
  }
  if (message) message.addEventListener("input", renderPreview);
  if (status) status.addEventListener("change", renderPreview);
  renderPreview();

  // Filters: hide timeline entries of unchecked kinds.
  function applyFilters() {
    var hidden = {};
    document.querySelectorAll("input[name=kind-filter]").forEach(function (box) { hidden[box.value] = !box.checked; });
    document.querySelectorAll("#timeline li.entry").forEach(function (entry) {
      var kind = (entry.className.match(/kind-([a-z_]+)/) || [])[1];
      entry.hidden = !!hidden[kind];
    });
  }
  document.querySelectorAll("input[name=kind-filter]").forEach(function (box) { box.addEventListener("change", applyFilters); });

  // Live: when the server says the incident changed, fetch the status line and timeline and swap them in.
  if (!window.EventSource) return;
  var live = document.getElementById("live");
  var source = new EventSource("/app/incidents/" + id + "/events");
  source.addEventListener("changed", function () {
    fetch("/app/incidents/" + id + "/live", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || !live) return;
        // The fragment is rendered and escaped by the server; parse it inertly, then move its nodes in.
        var doc = new DOMParser().parseFromString(html, "text/html");
        live.replaceChildren.apply(live, Array.prototype.slice.call(doc.body.childNodes));
        applyFilters();
      });
  });
  // The session ended (signed out, disabled, expired): stop reconnecting and show the sign-in page.
  source.addEventListener("ended", function () {
    source.close();
    window.location.reload();
  });
});
