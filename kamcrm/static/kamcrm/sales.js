// Sales pages: the opportunity board's drag and drop (htmx POST to the move endpoint; a refused move
// shows the service's message and the card goes back) and the funnel chart (ECharts, data from a
// <script type="application/json"> island). No inline scripts: the CSP allows only our static files.
(function () {
  "use strict";
  var zh = (document.body.dataset.lang || "").indexOf("zh") === 0;
  var money = new Intl.NumberFormat(zh ? "zh-CN" : "en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});

  // ---- board ----------------------------------------------------------------------------------
  function show(id, text) {
    var box = document.getElementById(id);
    if (!box) { return; }
    box.textContent = text || "";
    box.classList.toggle("d-none", !text);
  }

  function column(el) { return el.closest("[data-stage-id][data-stage-kind]"); }

  function adjust(col, count, amount) {
    var badge = col.querySelector("[data-role=count]");
    var total = col.querySelector("[data-role=amount]");
    var n = parseInt(badge.dataset.count, 10) + count;
    var a = parseFloat(total.dataset.amount) + amount;
    badge.dataset.count = String(n);
    badge.textContent = String(n);
    total.dataset.amount = a.toFixed(2);
    total.textContent = "¥" + money.format(a);
  }

  function askReason(label) {
    var dialog = document.getElementById("lost-reason-dialog");
    var input = document.getElementById("lost-reason-input");
    return new Promise(function (resolve) {
      if (!dialog || typeof dialog.showModal !== "function") { resolve(null); return; }
      input.value = "";
      dialog.dataset.stage = label;
      dialog.addEventListener("close", function onClose() {
        dialog.removeEventListener("close", onClose);
        resolve(dialog.returnValue === "ok" ? input.value.trim() : null);
      });
      dialog.returnValue = "";
      dialog.showModal();
      input.focus();
    });
  }

  function initBoard(board) {
    var texts = document.getElementById("board-messages").dataset;
    board.querySelectorAll(".js-board-cards").forEach(function (list) {
      new Sortable(list, {
        group: "opportunities", animation: 150, draggable: "[data-testid=board-card]",
        // Pointer events rather than the browser's native drag and drop: the same on touch screens,
        // and steady when the page is busy.
        forceFallback: true, fallbackTolerance: 3,
        onEnd: function (evt) {
          var card = evt.item, from = column(evt.from), to = column(evt.to);
          if (from === to) { return; }
          function putBack() {
            var ref = evt.from.children[evt.oldIndex] || null;
            evt.from.insertBefore(card, ref);
          }
          var values = {stage: to.dataset.stageId};
          var ready = to.dataset.stageKind === "lost" ? askReason(to.dataset.stageLabel) : Promise.resolve("");
          ready.then(function (reason) {
            if (reason === null) { putBack(); return; }
            if (reason) { values.lost_reason = reason; }
            show("board-alert", ""); show("board-notice", "");
            card.addEventListener("htmx:afterRequest", function onDone(event) {
              card.removeEventListener("htmx:afterRequest", onDone);
              var xhr = event.detail.xhr, body = null;
              try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
              if (event.detail.successful && body && body.ok) {
                var amount = parseFloat(card.dataset.amount || "0");
                adjust(from, -1, -amount);
                adjust(to, 1, amount);
                show("board-notice", body.message);
              } else {
                putBack();
                show("board-alert", body && body.message ? body.message
                  : (xhr.status === 404 ? texts.forbidden : texts.failed));
              }
            });
            htmx.ajax("POST", card.dataset.moveUrl, {source: card, values: values, swap: "none"});
          });
        }
      });
    });
  }

  // ---- funnel chart ---------------------------------------------------------------------------
  function initFunnel(el) {
    var island = document.getElementById("funnel-data");
    if (!island || !window.echarts) { return; }
    var data = JSON.parse(island.textContent);
    var chart = echarts.init(el);
    var isAmount = data.measure === "amount";
    chart.setOption({
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var s = data.stages[p.dataIndex];
          return echarts.format.encodeHTML(p.name) + "<br>" + s.count + " · ¥" + money.format(parseFloat(s.amount))
            + (data.measure === "reached" ? "<br>" + echarts.format.encodeHTML(data.title) + ": " + s.reached : "");
        }
      },
      series: [{
        type: "funnel", name: data.title, sort: "none", gap: 2, minSize: "8%", left: "10%", width: "50%",
        label: {
          show: true, position: "right",
          formatter: function (p) { return p.name + ": " + (isAmount ? "¥" + money.format(p.value) : p.value); }
        },
        labelLine: {show: true},
        data: data.stages.map(function (s) { return {name: s.name, value: s.value}; })
      }]
    });
    el.dataset.rendered = "true";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init() {
    var board = document.getElementById("opportunity-board");
    if (board && window.Sortable && window.htmx) { initBoard(board); }
    var chart = document.getElementById("funnel-chart");
    if (chart) { initFunnel(chart); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
