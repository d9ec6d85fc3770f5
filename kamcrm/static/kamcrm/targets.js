// Completion dashboard: a gauge per metric, target/actual bars per unit and person (a click drills down to
// that unit's or person's completion) and the year's trend (ECharts; data from a JSON island, no inline
// scripts under the CSP).
(function () {
  "use strict";
  var island = document.getElementById("completion-data");
  if (!island || typeof echarts === "undefined") { return; }
  var data = JSON.parse(island.textContent);
  var zh = (document.body.dataset.lang || "").indexOf("zh") === 0;
  var number = new Intl.NumberFormat(zh ? "zh-CN" : "en-US", {maximumFractionDigits: 0});
  var charts = [];

  var gaugesEl = document.getElementById("completion-gauges");
  if (gaugesEl && data.gauges.length) {
    var n = data.gauges.length;
    var gauges = echarts.init(gaugesEl);
    gauges.setOption({
      series: data.gauges.map(function (g, i) {
        return {
          type: "gauge", name: g.name, min: 0, max: 150, startAngle: 200, endAngle: -20,
          center: [((i + 0.5) / n * 100) + "%", "60%"], radius: Math.min(80, 900 / n) + "%",
          progress: {show: true, width: 8}, axisLine: {lineStyle: {width: 8}}, axisTick: {show: false},
          splitLine: {show: false}, axisLabel: {show: false}, pointer: {show: false},
          title: {offsetCenter: [0, "60%"], fontSize: 12},
          detail: {valueAnimation: false, offsetCenter: [0, "10%"], fontSize: 16,
                   formatter: function (v) { return g.ratio === null ? "—" : v + "%"; }},
          data: [{value: g.ratio === null ? 0 : g.ratio, name: g.name}]
        };
      })
    });
    charts.push(gauges);
  }

  var barsEl = document.getElementById("completion-bars");
  if (barsEl && data.bars.length) {
    var bars = echarts.init(barsEl);
    bars.setOption({
      tooltip: {trigger: "axis", valueFormatter: function (v) { return number.format(v); }},
      legend: {top: 0},
      grid: {left: 110, right: 20, top: 30, bottom: 20},
      yAxis: {type: "category", inverse: true, data: data.bars.map(function (b) { return b.name; })},
      xAxis: {type: "value", axisLabel: {formatter: function (v) { return number.format(v); }}},
      series: [
        {name: data.labels.target, type: "bar", data: data.bars.map(function (b) { return Number(b.target); })},
        {name: data.labels.actual, type: "bar", data: data.bars.map(function (b) { return Number(b.actual); })}
      ]
    });
    bars.on("click", function (params) { window.location.href = data.bars[params.dataIndex].url; });
    charts.push(bars);
  }

  var trendEl = document.getElementById("completion-trend");
  if (trendEl && data.trend) {
    var trend = echarts.init(trendEl);
    trend.setOption({
      tooltip: {trigger: "axis", valueFormatter: function (v) { return number.format(v); }},
      legend: {top: 0},
      grid: {left: 80, right: 20, top: 30, bottom: 30},
      xAxis: {type: "category", data: data.months},
      yAxis: {type: "value", axisLabel: {formatter: function (v) { return number.format(v); }}},
      series: [
        {name: data.labels.target, type: "line", data: data.trend.target.map(Number)},
        {name: data.labels.actual, type: "bar", data: data.trend.actual.map(Number)}
      ]
    });
    charts.push(trend);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
