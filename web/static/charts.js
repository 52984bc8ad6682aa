// Metric charts on the device page: uPlot, ranges 1 h to 1 y, live refresh for short ranges.
(function () {
  var box = document.getElementById("metric-chart");
  if (!box || !window.uPlot) return;
  var deviceId = box.getAttribute("data-device");
  var ranges = { "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000, "1y": 31536000 };
  var state = { metric: "cpu_percent", range: "1h" };
  var plot = null;
  var timer = null;

  function load() {
    var to = Date.now() / 1000;
    var url = "/api/v1/devices/" + deviceId + "/metrics?metric=" + encodeURIComponent(state.metric) +
      "&from=" + (to - ranges[state.range]) + "&to=" + to;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(draw);
  }

  function draw(series) {
    var pts = series.points || [];
    var data = [pts.map(function (p) { return p.t; }), pts.map(function (p) { return p.avg; }),
                pts.map(function (p) { return p.min; }), pts.map(function (p) { return p.max; })];
    var styles = getComputedStyle(document.body);
    var axis = { stroke: styles.color, grid: { stroke: "rgba(128,128,128,0.2)" } };
    var opts = {
      width: box.clientWidth || 600, height: 240,
      series: [{}, { label: "avg", stroke: "#206bc4", width: 2 },
               { label: "min", stroke: "rgba(32,107,196,0.35)" }, { label: "max", stroke: "rgba(214,57,57,0.5)" }],
      axes: [axis, axis]
    };
    box.setAttribute("data-points", String(pts.length));
    box.setAttribute("data-tier", series.tier || "");
    if (plot) plot.destroy();
    plot = new uPlot(opts, data, box);
  }

  document.querySelectorAll("[data-chart-range]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.range = b.getAttribute("data-chart-range");
      document.querySelectorAll("[data-chart-range]").forEach(function (o) { o.classList.toggle("active", o === b); });
      load();
    });
  });
  var select = document.getElementById("chart-metric");
  if (select) select.addEventListener("change", function () { state.metric = select.value; load(); });
  load();
  timer = setInterval(function () { if (state.range === "1h") load(); }, 30000);
  window.addEventListener("resize", function () { if (plot) plot.setSize({ width: box.clientWidth, height: 240 }); });
})();
