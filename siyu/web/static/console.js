/* siyu console: CSRF header for htmx, confirmations, and the dashboard chart.
   No inline scripts anywhere (the pages send a CSP without 'unsafe-inline'). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx posts carry the form's hidden field already; the header also covers
  // requests that are not forms.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });

  // Capture phase: runs before htmx sees the submit, so one confirmation
  // serves both the htmx and the plain-form path.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var question = form && form.getAttribute && form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopPropagation();
      }
    },
    true
  );

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // Chart helpers, shared with the audience chart scripts (audience_insights.js,
  // audience_segments.js), which load after this one (both deferred, in order).
  function readChartData(container, attribute) {
    var source = document.getElementById(container.getAttribute(attribute));
    return source ? JSON.parse(source.textContent) : null;
  }

  // ECharts did not load: show the table fallback instead of an empty box.
  function chartUnavailable(container) {
    var fallback = container.parentNode.querySelector(".chart-fallback");
    if (fallback) {
      fallback.hidden = false;
    }
    container.hidden = true;
  }

  // The "no data yet" text drawn in the middle of an empty chart.
  function emptyGraphic(empty, text) {
    return empty
      ? [
          {
            type: "text",
            left: "center",
            top: "middle",
            style: { text: text, fill: "#8a94a6", fontSize: 14 }
          }
        ]
      : [];
  }

  function accentColour() {
    return getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
  }

  function mountChart(container, option) {
    var chart = window.echarts.init(container, null, { renderer: "canvas" });
    chart.setOption(option);
    window.addEventListener("resize", function () {
      chart.resize();
    });
    return chart;
  }

  window.siyuCharts = {
    readData: readChartData,
    unavailable: chartUnavailable,
    emptyGraphic: emptyGraphic,
    accentColour: accentColour,
    mount: mountChart
  };

  function drawChart(container) {
    var data = readChartData(container, "data-chart-data");
    if (!data) {
      return;
    }
    if (!window.echarts) {
      chartUnavailable(container);
      return;
    }
    // The chart says "no data yet" itself; the text note stays for pages without charts.
    var note = container.parentNode.querySelector(".empty-state");
    if (note) {
      note.hidden = true;
    }
    var accent = accentColour();
    var empty = data.total === 0;
    mountChart(container, {
      animationDuration: 400,
      grid: { left: 44, right: 16, top: 20, bottom: 32 },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (params) {
          var point = params[0];
          return (
            escapeHtml(data.fullLabels[point.dataIndex]) +
            "<br>" +
            point.marker +
            escapeHtml(data.seriesName) +
            ": <b>" +
            escapeHtml(point.value) +
            "</b>"
          );
        }
      },
      xAxis: {
        type: "category",
        data: data.labels,
        axisTick: { alignWithLabel: true },
        axisLine: { lineStyle: { color: "#c9d1dc" } },
        axisLabel: { color: "#5b6577", interval: 2 }
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
          type: "bar",
          data: data.values,
          barMaxWidth: 22,
          itemStyle: { color: accent || "#0e7c66", borderRadius: [3, 3, 0, 0] }
        }
      ],
      graphic: emptyGraphic(empty, data.emptyText)
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart-data]").forEach(drawChart);
  });
})();
