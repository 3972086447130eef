/* siyu console, analytics dashboards: every chart is an ECharts option built by the
   server (siyu.web.console.analytics_charts) and rendered here unchanged, so the
   numbers on screen are the numbers the API returns. Each chart container holds
   data-analytics-chart="<id of a JSON script block>". */
(function () {
  "use strict";

  var charts = window.siyuCharts;

  function yuanFormatter(value) {
    return "¥" + (value / 100).toLocaleString(undefined, { maximumFractionDigits: 2 });
  }

  // Server-built options cannot carry functions; name them instead.
  function applyFormatters(option) {
    (option.yAxis ? [].concat(option.yAxis) : []).forEach(function (axis) {
      if (axis && axis.axisLabel && axis.axisLabel.formatter === "yuan") {
        axis.axisLabel.formatter = yuanFormatter;
      }
      if (axis && axis.axisLabel && axis.axisLabel.formatter === "percent") {
        axis.axisLabel.formatter = function (value) {
          return Math.round(value * 1000) / 10 + "%";
        };
      }
    });
    return option;
  }

  function draw(container) {
    var option = charts.readData(container, "data-analytics-chart");
    if (!option) {
      return;
    }
    if (!window.echarts) {
      charts.unavailable(container);
      return;
    }
    var chart = charts.mount(container, applyFormatters(option));
    container.setAttribute("data-rendered", "true");
    container.siyuChart = chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-analytics-chart]").forEach(draw);
  });
})();
