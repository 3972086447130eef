/* siyu console: the size-history line of a segment (人群包) detail page. */
(function () {
  "use strict";

  // Helpers from console.js (loaded first).
  var charts = window.siyuCharts;

  function draw(container) {
    var data = charts.readData(container, "data-segment-chart");
    if (!data) {
      return;
    }
    if (!window.echarts) {
      charts.unavailable(container);
      return;
    }
    var accent = charts.accentColour();
    var empty = data.values.length === 0;
    charts.mount(container, {
      animationDuration: 400,
      grid: { left: 56, right: 16, top: 20, bottom: 32 },
      tooltip: { trigger: "axis" },
      xAxis: {
        type: "category",
        data: data.labels,
        boundaryGap: false,
        axisLine: { lineStyle: { color: "#c9d1dc" } },
        axisLabel: { color: "#5b6577" }
      },
      yAxis: {
        type: "value",
        minInterval: 1,
        max: empty ? 1 : null,
        axisLabel: { color: "#5b6577" },
        splitLine: { lineStyle: { color: "#edf0f4" } }
      },
      series: [
        {
          name: data.seriesName,
          type: "line",
          data: data.values,
          showSymbol: data.values.length < 60,
          areaStyle: { opacity: 0.12 },
          itemStyle: { color: accent || "#0e7c66" }
        }
      ],
      graphic: charts.emptyGraphic(empty, data.emptyText)
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-segment-chart]").forEach(draw);
  });
})();
