// kamcrm's own script: CSRF for htmx, pickers, and the "/" shortcut to the global search.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
  });

  function initPickers(root) {
    var zh = (document.body.dataset.lang || "").indexOf("zh") === 0;
    root.querySelectorAll("select[data-search-url]").forEach(function (el) {
      if (el.tomselect) { return; }
      var url = el.dataset.searchUrl;
      var matched = {};  // ids the server returned for the latest query: it does the matching, not the browser
      var picker = new TomSelect(el, {
        valueField: "id", labelField: "text", searchField: "text", maxOptions: 50, preload: false,
        score: function () { return function (item) { return matched[String(item.id)] ? 1 : 0; }; },
        load: function (query, callback) {
          var self = this;
          fetch(url + (url.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(query), {credentials: "same-origin"})
            .then(function (r) { return r.json(); })
            .then(function (data) {
              matched = {};
              data.results.forEach(function (row) { matched[String(row.id)] = true; });
              self.clearOptions();
              callback(data.results);
            })
            .catch(function () { callback(); });
        }
      });
      picker.canLoad = function (query) { return !!query; };  // ask again rather than answer from a stale cache
    });
    root.querySelectorAll("select.js-choices").forEach(function (el) {
      if (!el.tomselect) { new TomSelect(el, {plugins: el.multiple ? ["remove_button"] : []}); }
    });
    if (window.flatpickr) {
      root.querySelectorAll("input.js-date").forEach(function (el) {
        if (!el._flatpickr) { flatpickr(el, {dateFormat: "Y-m-d", allowInput: true, locale: zh ? "zh" : "default"}); }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () { initPickers(document); });
  document.body.addEventListener("htmx:load", function (event) { initPickers(event.detail.elt); });

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (event.key === "/" && tag !== "input" && tag !== "textarea" && tag !== "select") {
      var box = document.getElementById("global-search");
      if (box) { event.preventDefault(); box.focus(); }
    }
    if (event.key === "Escape") {
      var suggest = document.getElementById("search-suggest");
      if (suggest) { suggest.innerHTML = ""; }
    }
  });
})();
