// Revenue analysis: expected / billed / collected / recognised bars and the weighted pipeline line by month
// (ECharts, data from a <script type="application/json"> island; no inline scripts under the CSP).
(function () {
  "use strict";
  var el = document.getElementById("revenue-chart");
  var island = document.getElementById("revenue-data");
  if (!el || !island || typeof echarts === "undefined") { return; }
  var data = JSON.parse(island.textContent);
  var zh = (document.body.dataset.lang || "").indexOf("zh") === 0;
  var money = new Intl.NumberFormat(zh ? "zh-CN" : "en-US", {maximumFractionDigits: 0});
  var series = ["expected", "billed", "collected", "recognised"].map(function (key) {
    return {name: data.labels[key], type: "bar", data: data.series[key].map(Number)};
  });
  series.push({name: data.pipeline_label, type: "line", data: data.pipeline.map(Number)});
  var chart = echarts.init(el);
  chart.setOption({
    tooltip: {trigger: "axis", valueFormatter: function (v) { return "¥" + money.format(v); }},
    legend: {top: 0},
    grid: {left: 80, right: 20, top: 40, bottom: 30},
    xAxis: {type: "category", data: data.months},
    yAxis: {type: "value", axisLabel: {formatter: function (v) { return money.format(v); }}},
    series: series
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
