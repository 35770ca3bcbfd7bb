// Lookout web UI: theme toggle, search as you type, list keyboard navigation, bulk selection,
// live updates (polls /ui/live.json) and copy buttons. Everything works without it, too.
"use strict";
(function () {
  var root = document.documentElement;
  var base = document.body.getAttribute("data-root") || "";  // /<site> behind the front door

  // ---- theme
  var toggle = document.getElementById("theme-toggle");
  function effectiveTheme() {
    var t = root.getAttribute("data-theme");
    if (t === "light" || t === "dark") return t;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  if (toggle) toggle.addEventListener("click", function () {
    var next = effectiveTheme() === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("lookout-theme", next); } catch (e) {}
  });

  // ---- search as you type
  var box = document.getElementById("search"), list = document.getElementById("search-results");
  var timer = null, seq = 0, active = -1;
  function items() { return list ? Array.prototype.slice.call(list.querySelectorAll("li")) : []; }
  function mark(i) {
    var all = items(); active = Math.max(-1, Math.min(i, all.length - 1));
    all.forEach(function (li, k) { li.setAttribute("aria-selected", k === active ? "true" : "false"); });
  }
  function show(data) {
    list.innerHTML = ""; active = -1;
    data.items.forEach(function (h) {
      var li = document.createElement("li"), a = document.createElement("a");
      li.setAttribute("role", "option");
      a.href = base + h.url;
      var st = document.createElement("span"); st.className = "state s-" + h.state; st.textContent = h.label;
      var name = document.createElement("span"); name.textContent = h.service ? h.host + " / " + h.service : h.host;
      var why = document.createElement("small"); why.textContent = h.kind + (h.why !== "name" ? " · " + h.why : "");
      a.appendChild(st); a.appendChild(name); a.appendChild(why); li.appendChild(a); list.appendChild(li);
    });
    if (!data.items.length) { var li = document.createElement("li"); li.innerHTML = "<a>nothing found</a>"; list.appendChild(li); }
    list.hidden = false;
  }
  if (box && list) {
    box.addEventListener("input", function () {
      clearTimeout(timer);
      var q = box.value.trim();
      if (!q) { list.hidden = true; return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch(base + "/ui/search.json?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (d) { if (mine === seq) show(d); })
          .catch(function () {});
      }, 120);
    });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown") { mark(active + 1); ev.preventDefault(); }
      else if (ev.key === "ArrowUp") { mark(active - 1); ev.preventDefault(); }
      else if (ev.key === "Enter" && active >= 0) {
        var a = items()[active].querySelector("a"); if (a && a.href) { location.href = a.href; ev.preventDefault(); }
      } else if (ev.key === "Escape") { list.hidden = true; box.blur(); }
    });
    document.addEventListener("click", function (ev) { if (!list.contains(ev.target) && ev.target !== box) list.hidden = true; });
  }

  // ---- keyboard: "/" search, j/k move in a list, Enter opens, x selects
  var row = -1;
  function rows() {
    var t = document.querySelector("table[data-keynav]");
    return t ? Array.prototype.slice.call(t.querySelectorAll("tbody tr[data-href]")) : [];
  }
  function focusRow(i) {
    var all = rows(); if (!all.length) return;
    row = Math.max(0, Math.min(i, all.length - 1));
    all.forEach(function (r, k) { r.classList.toggle("kb-focus", k === row); });
    all[row].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (ev) {
    var tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "/" && box) { box.focus(); ev.preventDefault(); }
    else if (ev.key === "j" || ev.key === "ArrowDown" && row >= 0) { focusRow(row + 1); ev.preventDefault(); }
    else if (ev.key === "k" || ev.key === "ArrowUp" && row >= 0) { focusRow(row - 1); ev.preventDefault(); }
    else if (ev.key === "Enter" && row >= 0) { location.href = rows()[row].getAttribute("data-href"); }
    else if (ev.key === "x" && row >= 0) {
      var cb = rows()[row].querySelector("input[type=checkbox]"); if (cb) { cb.checked = !cb.checked; countSelected(); }
    }
  });

  // ---- bulk selection
  // (delegated listeners: live updates replace the list's elements)
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll("#bulk input[name=target]")); }
  function countSelected() {
    var counter = document.getElementById("selected-count");
    if (!counter) return;
    var n = boxes().filter(function (b) { return b.checked; }).length;
    counter.textContent = n + " selected";
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.id === "select-all") boxes().forEach(function (b) { b.checked = ev.target.checked; });
    if (ev.target.id === "select-all" || ev.target.name === "target") countSelected();
  });

  // ---- confirmations and copy buttons
  document.addEventListener("submit", function (ev) {
    var msg = ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
  document.addEventListener("click", function (ev) {
    var sel = ev.target.getAttribute && ev.target.getAttribute("data-copy");
    if (!sel) return;
    var el = document.querySelector(sel);
    if (el && navigator.clipboard) navigator.clipboard.writeText(el.textContent.trim()).then(function () { ev.target.textContent = "Copied"; });
  });

  // ---- live updates: the title counts unhandled problems; live pages refresh their content
  var period = Math.max(1, parseFloat(document.body.getAttribute("data-refresh") || "5")) * 1000;
  var baseTitle = document.body.getAttribute("data-page-title") || document.title;
  var badge = document.getElementById("unhandled-badge"), main = document.getElementById("main");
  // the marker the page was rendered at: a change between the render and the first poll shows
  var last = main ? main.getAttribute("data-marker") : null;
  function busy() {  // never swap the page under someone who is selecting or typing
    var el = document.activeElement;
    var typed = Array.prototype.slice.call(main.querySelectorAll("input, textarea")).some(function (i) {
      return (i.type === "text" || i.type === "number" || i.tagName === "TEXTAREA") && i.value !== i.defaultValue;
    });
    return typed || boxes().some(function (b) { return b.checked; }) ||
      (el && main.contains(el) && /input|select|textarea/i.test(el.tagName));
  }
  function refreshMain() {
    fetch(location.href, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok || r.redirected) return null; return r.text();
    }).then(function (html) {
      if (!html || busy()) return;
      var doc = new DOMParser().parseFromString(html, "text/html"), fresh = doc.getElementById("main");
      if (!fresh) return;
      // the outcome of the user's last action is shown once: keep it over the fresh content
      var kept = Array.prototype.slice.call(main.querySelectorAll(":scope > p.flash"));
      main.innerHTML = fresh.innerHTML;
      kept.reverse().forEach(function (p) { main.insertBefore(p, main.firstChild); });
      row = -1; countSelected();
    }).catch(function () {});
  }
  function poll() {
    if (!badge) return;
    fetch(base + "/ui/live.json", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
      if (!d) return;
      document.title = (d.unhandled ? "(" + d.unhandled + ") " : "") + baseTitle;
      badge.textContent = d.unhandled; badge.classList.toggle("hot", d.unhandled > 0);
      var marker = d.changes + ":" + d.objects;
      if (last !== null && marker !== last && main.hasAttribute("data-live") && !busy()) refreshMain();
      last = marker;
    }).catch(function () {});
  }
  if (badge) { poll(); setInterval(poll, period); }
})();
