// Theme toggle: auto -> light -> dark -> auto.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("theme-toggle");
  if (!button) return;
  var order = ["auto", "light", "dark"];
  var labels = { auto: "Theme: follows the system", light: "Theme: light", dark: "Theme: dark" };
  function show() {
    var pick = window.ninjaitTheme.chosen();
    button.title = labels[pick];
    button.querySelector(".theme-toggle-label").textContent = pick === "auto" ? "Auto" : pick === "light" ? "Light" : "Dark";
  }
  button.addEventListener("click", function () {
    var next = order[(order.indexOf(window.ninjaitTheme.chosen()) + 1) % order.length];
    localStorage.setItem("ninjait-theme", next);
    window.ninjaitTheme.apply();
    show();
  });
  show();
});

// Device list: the header checkbox ticks or clears every device on the page.
document.addEventListener("change", function (event) {
  var all = event.target.closest && event.target.closest("[data-tick-all]");
  if (!all) return;
  document.querySelectorAll('input[type="checkbox"][name="ids"][form="bulk"]').forEach(function (box) {
    box.checked = all.checked;
  });
});

// Live updates: mark a connected event stream, so people (and tests) can tell the page is listening.
document.addEventListener("htmx:sseOpen", function (event) {
  var source = event.target.closest && event.target.closest("[sse-connect]");
  if (source) source.setAttribute("data-live", "connected");
});

// Knowledge base on a ticket: "Insert into reply" appends an article's text to the reply box.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-insert-into]");
  if (!button) return;
  var box = document.getElementById(button.getAttribute("data-insert-into"));
  if (!box) return;
  box.value = (box.value ? box.value.replace(/\s*$/, "") + "\n\n" : "") + button.getAttribute("data-insert-text");
  box.focus();
});
