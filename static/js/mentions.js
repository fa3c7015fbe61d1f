// suz: the @mention autocomplete of the internal note (issue 16). Typing "@" and some letters in
// a textarea marked data-mentions lists the staff and groups /desk/mentions names; arrows and
// Enter (or a click) put the chosen "@handle " in place. Names are set as text, never as HTML.
(function () {
  "use strict";
  if (window.suzMentions) { return; }
  window.suzMentions = true;
  var TOKEN = /(?:^|[^\w.@+-])@([\w.@-]*)$/u;
  var timer = null, asked = 0;

  function listFor(area) { return document.getElementById(area.getAttribute("aria-controls")); }
  function typed(area) {
    var m = TOKEN.exec(area.value.slice(0, area.selectionStart));
    return m ? m[1] : null;
  }
  function close(area) {
    var list = listFor(area);
    if (list) { list.hidden = true; list.textContent = ""; }
    area.setAttribute("aria-expanded", "false");
    area.removeAttribute("aria-activedescendant");
  }
  function pick(area, handle) {
    var caret = area.selectionStart, before = area.value.slice(0, caret);
    var at = before.lastIndexOf("@");
    area.value = before.slice(0, at) + "@" + handle + " " + area.value.slice(caret);
    var end = at + handle.length + 2;
    area.setSelectionRange(end, end);
    close(area);
    area.focus();
  }
  function show(area, found) {
    var list = listFor(area);
    if (!list) { return; }
    list.textContent = "";
    found.forEach(function (f, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.dataset.handle = f.handle;
      li.className = "mention-option " + f.kind;
      var name = document.createElement("span");
      name.textContent = f.label;
      var handle = document.createElement("span");
      handle.className = "muted";
      handle.textContent = " @" + f.handle;
      li.appendChild(name);
      li.appendChild(handle);
      li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(area, f.handle); });
      list.appendChild(li);
    });
    list.hidden = !found.length;
    area.setAttribute("aria-expanded", found.length ? "true" : "false");
    if (found.length) { choose(area, 0); }
  }
  function choose(area, index) {
    var options = listFor(area).querySelectorAll('[role="option"]');
    options.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (options[index]) { area.setAttribute("aria-activedescendant", options[index].id); }
  }
  function selected(area) {
    var list = listFor(area);
    var options = list ? Array.prototype.slice.call(list.querySelectorAll('[role="option"]')) : [];
    return { options: options, index: options.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; }) };
  }

  document.addEventListener("input", function (e) {
    var area = e.target;
    if (!area || !area.dataset || !area.dataset.mentions) { return; }
    var q = typed(area);
    clearTimeout(timer);
    if (q === null) { close(area); return; }
    timer = setTimeout(function () {
      var mine = ++asked;
      fetch("/desk/mentions?q=" + encodeURIComponent(q), { credentials: "same-origin",
                                                           headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { handles: [] }; })
        .then(function (d) {
          if (mine !== asked || typed(area) === null) { return; }
          show(area, d.handles || []);
          area.dataset.mentionsFor = q;  // what the list answers (the tests wait for it)
        })
        .catch(function () { close(area); });
    }, 120);
  });

  document.addEventListener("keydown", function (e) {
    var area = e.target;
    if (!area || !area.dataset || !area.dataset.mentions) { return; }
    var list = listFor(area);
    if (!list || list.hidden) { return; }
    var s = selected(area);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      var step = e.key === "ArrowDown" ? 1 : -1;
      choose(area, (s.index + step + s.options.length) % s.options.length);
    } else if ((e.key === "Enter" || e.key === "Tab") && s.index >= 0 && !e.ctrlKey) {
      e.preventDefault();
      pick(area, s.options[s.index].dataset.handle);
    } else if (e.key === "Escape") {
      e.preventDefault();
      close(area);
    }
  });

  document.addEventListener("focusout", function (e) {
    var area = e.target;
    if (area && area.dataset && area.dataset.mentions) { close(area); }
  });
})();
