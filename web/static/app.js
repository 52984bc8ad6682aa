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
