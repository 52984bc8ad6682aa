// Applies the saved theme ("light", "dark" or "auto" = follow the OS) before first paint.
(function () {
  var media = window.matchMedia("(prefers-color-scheme: dark)");
  function chosen() { return localStorage.getItem("ninjait-theme") || "auto"; }
  function apply() {
    var pick = chosen();
    var dark = pick === "dark" || (pick === "auto" && media.matches);
    document.documentElement.setAttribute("data-bs-theme", dark ? "dark" : "light");
    document.documentElement.setAttribute("data-theme-choice", pick);
  }
  apply();
  media.addEventListener("change", apply);
  window.ninjaitTheme = { apply: apply, chosen: chosen };
})();
