// Governor's small JS layer: the phone menu, plotly charts from JSON in the page, and live
// updates (an EventSource on /live; on a change, re-fetch this URL and swap <main>).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // --- the menu on phones ---------------------------------------------------------------------
  function setUpMenu() {
    var toggle = document.querySelector(".nav-toggle");
    var bar = document.querySelector(".topbar");
    if (!toggle || !bar) return;
    toggle.addEventListener("click", function () {
      var open = bar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // --- charts: <div data-chart="ID"> drawn from <script type="application/json" id="ID"> -------
  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) return;
      var figure;
      try { figure = JSON.parse(source.textContent); } catch (e) { return; }
      window.Plotly.react(el, figure.data, figure.layout, {
        displayModeBar: false, responsive: true,
      }).then(function () {
        if (el.dataset.clicks) return;
        el.dataset.clicks = "1";
        el.on("plotly_click", function (event) {  // a bar or point opens the rows behind it
          var point = event && event.points && event.points[0];
          if (point && typeof point.customdata === "string") window.location.href = point.customdata;
        });
      });
    });
  }

  function purgeCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) { window.Plotly.purge(el); });
  }

  // --- live updates ----------------------------------------------------------------------------
  var busy = false;
  var pending = false;

  function userIsBusy(main) {
    var active = document.activeElement;
    if (document.hidden) return true;  // refresh when the tab is shown again
    return !!(active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }

  function refresh() {
    var main = document.getElementById("main");
    if (!main) return;
    if (busy || userIsBusy(main)) { pending = true; return; }
    busy = true;
    pending = false;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Governor-Live": "1" } })
      .then(function (response) {
        if (!response.ok || response.redirected) return null;
        var type = response.headers.get("content-type") || "";
        return type.indexOf("text/html") === 0 ? response.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        if (!fresh) return;
        var open = [];  // keep open <details> (waterfall rows, tracebacks) open
        main.querySelectorAll("details[open]").forEach(function (d, i) { open.push(detailsKey(d, i)); });
        var x = window.scrollX, y = window.scrollY;
        swap("gate-banner", doc);
        swap("open-alerts", doc, true);
        purgeCharts(main);
        main.innerHTML = fresh.innerHTML;
        main.querySelectorAll("details").forEach(function (d, i) {
          if (open.indexOf(detailsKey(d, i)) >= 0) d.open = true;
        });
        drawCharts(main);
        window.scrollTo(x, y);
        document.title = doc.title;
      })
      .catch(function () { /* offline for a moment: the next change tries again */ })
      .then(function () {
        busy = false;
        if (pending) window.setTimeout(refresh, 250);
      });
  }

  function detailsKey(d, i) {
    return d.id || (d.querySelector("summary") || d).textContent.trim().slice(0, 80) + "#" + i;
  }

  function swap(id, doc, optional) {
    var here = document.getElementById(id);
    var there = doc.getElementById(id);
    if (here && there) here.outerHTML = there.outerHTML;
    else if (here && optional) here.remove();
    else if (!here && there && id === "open-alerts") {
      var link = document.querySelector('.nav a[href="/alerts"]');
      if (link) link.insertAdjacentHTML("beforeend", " " + there.outerHTML);
    }
  }

  function listen() {
    if (!window.EventSource || !document.getElementById("live-dot")) return;
    var dot = document.getElementById("live-dot");
    var source = new EventSource("/live");
    source.addEventListener("open", function () {
      dot.classList.add("on");
      dot.title = "Live: this page updates when tasks finish or money arrives";
    });
    source.addEventListener("error", function () {
      dot.classList.remove("on");
      dot.title = "Live updates: reconnecting";
    });
    source.addEventListener("change", refresh);
    document.addEventListener("visibilitychange", function () { if (!document.hidden && pending) refresh(); });
    document.addEventListener("focusout", function () { if (pending) window.setTimeout(refresh, 300); });
  }

  function start() {
    setUpMenu();
    drawCharts(document);
    listen();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
