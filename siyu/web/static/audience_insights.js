/* siyu console: the RFM R×F heatmap and the lifecycle stage charts (ECharts).
   Data comes from <script type="application/json"> blocks rendered by the server. */
(function () {
  "use strict";

  var PALETTE = ["#0e7c66", "#3b82f6", "#f59e0b", "#ef4444", "#8b5cf6", "#64748b"];

  // Helpers from console.js (loaded first).
  var charts = window.siyuCharts;

  function heatmap(data) {
    return {
      tooltip: { position: "top" },
      grid: { left: 44, right: 16, top: 16, bottom: 64 },
      xAxis: { type: "category", data: data.xLabels, splitArea: { show: true } },
      yAxis: { type: "category", data: data.yLabels, splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: Math.max(1, data.max),
        calculable: true,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        inRange: { color: ["#f0fdf9", "#0e7c66"] }
      },
      series: [
        {
          name: data.seriesName,
          type: "heatmap",
          data: data.cells,
          label: { show: true },
          emphasis: { itemStyle: { shadowBlur: 6, shadowColor: "rgba(0,0,0,0.3)" } }
        }
      ]
    };
  }

  function stacked(data) {
    var empty = data.days.length === 0;
    return {
      color: PALETTE,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", boundaryGap: false, data: data.days },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (series) {
        return {
          name: series.name,
          type: "line",
          stack: "stages",
          areaStyle: {},
          showSymbol: data.days.length < 2,
          data: series.data
        };
      }),
      graphic: charts.emptyGraphic(empty, data.emptyText)
    };
  }

  function draw(container) {
    var data = charts.readData(container, "data-source");
    if (!data) {
      return;
    }
    if (!window.echarts) {
      charts.unavailable(container);
      return;
    }
    var kind = container.getAttribute("data-audience-chart");
    charts.mount(container, kind === "heatmap" ? heatmap(data) : stacked(data));
    container.setAttribute("data-drawn", "true");
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-audience-chart]").forEach(draw);
  });
})();
