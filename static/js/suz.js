// suz: the live channel, presence and small page behaviours. No framework; htmx does the rest.
(function () {
  "use strict";
  var body = document.body;
  var t = {};
  try { t = JSON.parse((document.getElementById("suz-i18n") || {}).textContent || "{}"); } catch (e) { t = {}; }
  var last = parseInt(body.dataset.liveAfter || "0", 10) || 0;
  var topics = ((body.dataset.liveTopics || "") + " " + (body.dataset.liveExtra || ""))
    .split(" ").filter(function (t, i, all) { return t && all.indexOf(t) === i; });
  var ticket = body.dataset.ticket || "";
  var key = body.dataset.key || "";
  var socket = null, retry = 1000, changeTimer = null, viewingTimer = null;
  var decoder = new TextDecoder();

  function tr(name, fallback) { return t[name] || fallback; }

  // Every htmx GET asks the server to answer only once its views have reached what we have seen.
  document.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.verb === "get" && last > 0) { e.detail.parameters.after = last; }
    if (key && !("key" in e.detail.parameters)) { e.detail.parameters.key = key; }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail.xhr;
    var pos = xhr && parseInt(xhr.getResponseHeader("X-Suz-Position") || "0", 10);
    if (pos > last) { last = pos; }
  });

  // Pages refresh at most about once every 700 ms, and always once after the last change: a
  // burst of changes costs one refresh, a steady stream one every 700 ms, and none is lost.
  var pendingChange = false, lastFired = 0;
  function changed(detail) {
    if (pendingChange) { return; }
    pendingChange = true;
    setTimeout(function () {
      pendingChange = false;
      lastFired = Date.now();
      body.dispatchEvent(new CustomEvent("suz:change", { detail: detail }));
    }, Math.max(120, lastFired + 700 - Date.now()));
  }

  function connect() {
    if (!topics.length || !window.WebSocket) { return; }
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/live";
    if (key && ticket) { url += "?ticket=" + encodeURIComponent(ticket) + "&key=" + encodeURIComponent(key); }
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";  // the server sends JSON in binary frames
    socket.onopen = function () {
      retry = 1000;
      socket.send(JSON.stringify({ subscribe: topics, after: last }));
      body.classList.remove("offline");
      announce("viewing");
    };
    socket.onmessage = function (m) {
      var data;
      try {
        data = JSON.parse(typeof m.data === "string" ? m.data : decoder.decode(m.data));
      } catch (e) { return; }
      if (typeof data.position === "number") {
        if (data.position > last) { last = data.position; }
        changed(data);
      } else if (data.presence) {
        showPresence(data.presence, data.who || []);
      }
    };
    socket.onclose = function () {
      socket = null;
      body.classList.add("offline");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  function send(obj) { if (socket && socket.readyState === 1) { socket.send(JSON.stringify(obj)); } }

  function announce(state) {
    if (!ticket || !body.dataset.presence) { return; }
    send({ presence: state, ticket: ticket });
  }

  function describe(who) {
    return who.map(function (p) {
      var what = { viewing: tr("viewing", "viewing"), typing_public: tr("typing_public", "typing a reply"),
                   typing_note: tr("typing_note", "writing an internal note") }[p.state] || p.state;
      return p.name + " (" + what + ")";
    }).join(", ");
  }

  function showPresence(forTicket, who) {
    var me = body.dataset.me || "";
    var others = who.filter(function (p) { return p.account !== me; });
    if (forTicket === ticket) {
      var el = document.getElementById("presence");
      if (el) { el.textContent = others.length ? tr("also_here", "Also here:") + " " + describe(others) : ""; }
    }
    document.querySelectorAll('[data-presence-for="' + forTicket + '"]').forEach(function (el) {
      el.textContent = others.length ? "👁 " + others.map(function (p) { return p.name; }).join(", ") : "";
    });
  }

  // Typing: what is being written, announced at most every 2 s, "viewing" again after 4 s idle.
  var typingUntil = 0, idleTimer = null;
  document.addEventListener("input", function (e) {
    var state = e.target && e.target.dataset && e.target.dataset.typing;
    if (!state) { return; }
    var now = Date.now();
    if (now > typingUntil) { announce(state); typingUntil = now + 2000; }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(function () { typingUntil = 0; announce("viewing"); }, 4000);
  });
  if (ticket && body.dataset.presence) {
    viewingTimer = setInterval(function () { if (!typingUntil) { announce("viewing"); } }, 10000);
  }

  // Tabs: buttons with role=tab show the panel they control. As the ARIA tabs pattern has it,
  // only the selected tab is in the Tab order (roving tabindex); the arrow keys, Home and End
  // select another and keep the focus on it; a click, Enter or Space selects one and moves the
  // focus to its panel's first field.
  function tabsOf(list) { return Array.prototype.slice.call(list.querySelectorAll('[role="tab"]')); }
  function rove() {
    document.querySelectorAll('[role="tablist"]').forEach(function (list) {
      var tabs = tabsOf(list), chosen = tabs.filter(function (b) { return b.getAttribute("aria-selected") === "true"; })[0] || tabs[0];
      tabs.forEach(function (b) { b.tabIndex = b === chosen ? 0 : -1; });
    });
  }
  function selectTab(tab) {
    var list = tab.closest('[role="tablist"]');
    tabsOf(list).forEach(function (b) {
      var on = b === tab;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(b.getAttribute("aria-controls"));
      if (panel) { panel.hidden = !on; }
    });
    var kept = document.getElementById("composer-tab");  // the tab a live refresh keeps open
    if (kept && list.closest("#composer")) { kept.value = tab.id.replace(/^tab-/, ""); }
  }
  rove();
  document.addEventListener("htmx:afterSettle", rove);
  document.addEventListener("keydown", function (e) {
    var tab = e.target.closest && e.target.closest('[role="tab"]');
    if (!tab || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var tabs = tabsOf(tab.closest('[role="tablist"]')), at = tabs.indexOf(tab);
    var next = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) { return; }
    e.preventDefault();
    tab = tabs[(next + tabs.length) % tabs.length];
    selectTab(tab);
    tab.focus();
  });
  document.addEventListener("click", function (e) {
    var tab = e.target.closest && e.target.closest('[role="tab"]');
    if (tab) {
      selectTab(tab);
      var first = document.getElementById(tab.getAttribute("aria-controls"));
      var field = first && first.querySelector("textarea, input:not([type=hidden]), select");
      if (field) { field.focus(); }
      return;
    }
    var dismiss = e.target.closest && e.target.closest("[data-dismiss]");
    if (dismiss) { dismiss.closest(".notice").remove(); }
  });

  // Keyboard: "/" search, "r" reply, "n" internal note, Ctrl+Enter sends the form being written.
  document.addEventListener("keydown", function (e) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName) || e.target.isContentEditable;
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) {
      e.preventDefault();
      e.target.form.requestSubmit();
      return;
    }
    if (typing || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var target = { "/": "q", "r": "tab-reply", "n": "tab-note" }[e.key];
    var el = target && document.getElementById(target);
    if (el) { e.preventDefault(); if (el.getAttribute("role") === "tab") { el.click(); } else { el.focus(); } }
  });

  // Drag and drop onto a .dropzone fills its file input and lists the files.
  function listFiles(zone, input) {
    var ul = zone.querySelector("ul");
    if (!ul) { return; }
    ul.textContent = "";
    Array.prototype.forEach.call(input.files, function (f) {
      var li = document.createElement("li");
      li.textContent = f.name + " (" + Math.ceil(f.size / 1024) + " KB)";
      ul.appendChild(li);
    });
  }
  document.addEventListener("dragover", function (e) {
    var zone = e.target.closest && e.target.closest(".dropzone");
    if (zone) { e.preventDefault(); zone.classList.add("over"); }
  });
  document.addEventListener("dragleave", function (e) {
    var zone = e.target.closest && e.target.closest(".dropzone");
    if (zone) { zone.classList.remove("over"); }
  });
  document.addEventListener("drop", function (e) {
    var zone = e.target.closest && e.target.closest(".dropzone");
    if (!zone) { return; }
    e.preventDefault();
    zone.classList.remove("over");
    var input = zone.querySelector("input[type=file]");
    var dt = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (f) { dt.items.add(f); });
    Array.prototype.forEach.call(e.dataTransfer.files, function (f) { dt.items.add(f); });
    input.files = dt.files;
    listFiles(zone, input);
  });
  document.addEventListener("change", function (e) {
    var zone = e.target.closest && e.target.closest(".dropzone");
    if (zone && e.target.type === "file") { listFiles(zone, e.target); }
  });

  // New timeline entries flash once so the eye finds them (earlier ones, loaded on demand, not).
  var shownBefore = 0;
  document.addEventListener("htmx:beforeSwap", function () {
    shownBefore = 0;
    document.querySelectorAll("#timeline [data-version]").forEach(function (el) {
      shownBefore = Math.max(shownBefore, parseInt(el.dataset.version, 10) || 0);
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    var timeline = document.getElementById("timeline");
    if (!timeline || !shownBefore) { return; }
    timeline.querySelectorAll("[data-version]").forEach(function (el) {
      if (parseInt(el.dataset.version, 10) > shownBefore) { el.classList.add("new"); }
    });
  });

  // The focus after a swap: a form posted in place, or a live refresh, replaces the element that
  // had the focus (htmx itself refocuses only an element with an id, and a button has none).
  // Left on the page's body, the focus would send a keyboard user back to the top; it goes to the
  // nearest of its former ancestors with an id that is still there (the composer's tab panel, the
  // side panel), or first to the id its control names in data-focus-after ("Take it": the
  // reply): the element itself if it takes the focus, else its first text field, else its first
  // control.
  var focusTrail = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var had = document.activeElement, target = e.detail.target;
    if (!had || had === document.body || !target || !target.contains(had)) { return; }
    var hint = had.closest("[data-focus-after]");  // where the control says the work goes on
    focusTrail = hint ? [hint.dataset.focusAfter] : [];
    for (var el = had; el && el !== document.body; el = el.parentElement) {
      if (el.id) { focusTrail.push(el.id); }
    }
  });
  function focusable(el) {
    return el.tabIndex >= 0 && !el.disabled && !el.closest("[hidden]") && el.getClientRects().length > 0;
  }
  function firstFocusable(root, selector) {
    return Array.prototype.slice.call(root.querySelectorAll(selector)).filter(focusable)[0];
  }
  document.addEventListener("htmx:afterSettle", function () {
    var trail = focusTrail, now = document.activeElement;
    if (!trail || (now && now !== document.body)) { return; }
    focusTrail = null;
    for (var i = 0; i < trail.length; i++) {
      var el = document.getElementById(trail[i]);
      if (!el || el.closest("[hidden]")) { continue; }
      var to = focusable(el) ? el : firstFocusable(el, "textarea") ||
        firstFocusable(el, "input:not([type=hidden]), select, button, a[href], [tabindex]");
      if (to) { to.focus(); return; }
    }
  });

  // j / k move between the requests of a list; Enter opens the focused one.
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || (e.key !== "j" && e.key !== "k")) { return; }
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) { return; }
    var links = Array.prototype.slice.call(document.querySelectorAll("table.list a.subject"));
    if (!links.length) { return; }
    var at = links.indexOf(document.activeElement);
    var next = e.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
    links[next].focus();
    e.preventDefault();
  });

  // SLA deadlines count down live: "2 h 5 min left", "overdue by 10 min".
  function span(ms) {
    var m = Math.round(Math.abs(ms) / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    if (d) { return d + " " + tr("d", "d") + " " + h + " " + tr("h", "h"); }
    if (h) { return h + " " + tr("h", "h") + " " + (m % 60) + " " + tr("min", "min"); }
    return m + " " + tr("min", "min");
  }
  function countdown() {
    var now = Date.now();
    document.querySelectorAll("time[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      el.textContent = (left >= 0 ? tr("left", "{time} left") : tr("overdue", "overdue by {time}")).replace("{time}", span(left));
      if (left < 0) { el.classList.add("breached"); }
    });
  }
  document.addEventListener("htmx:afterSettle", countdown);
  setInterval(countdown, 30000);
  countdown();

  connect();
})();
