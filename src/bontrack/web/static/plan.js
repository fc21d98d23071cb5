// The planning screen: body map clicks add injections; findings are shown next to the
// injection they concern after each live check. No inline scripts (CSP-friendly).
(function () {
  "use strict";
  var form = document.getElementById("plan");
  if (!form) { return; }
  var tbody = document.querySelector("#injections tbody");
  var template = document.getElementById("row-template");

  function recheck() { form.dispatchEvent(new Event("bodymap")); }

  function addRow(muscle, side) {
    var index = tbody.querySelectorAll("tr").length;
    var html = template.innerHTML.split("__I__").join(String(index));
    tbody.insertAdjacentHTML("beforeend", html);
    var row = tbody.lastElementChild;
    if (muscle) { row.querySelector("select[name=muscle]").value = muscle; }
    if (side) { row.querySelector("select[name=side]").value = side; }
    var units = row.querySelector("input[name=units]");
    units.focus();
    return row;
  }

  document.getElementById("add-row").addEventListener("click", function () { addRow(); });

  // A point (in the whole body or a zoomed region) or a list option: add that muscle and
  // side, as a row, and mark every point drawn for it.
  function choose(muscle, side) {
    doseHelp(muscle, side);
    addRow(muscle, side);
    document.querySelectorAll(".bm-point").forEach(function (p) {
      if (p.getAttribute("data-muscle") === muscle && p.getAttribute("data-side") === side) {
        p.classList.add("chosen");
      }
    });
    recheck();
  }
  function choosePoint(point) {
    choose(point.getAttribute("data-muscle"), point.getAttribute("data-side"));
  }
  document.querySelectorAll(".bm-point").forEach(function (point) {
    point.addEventListener("click", function () { choosePoint(point); });
    point.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choosePoint(point); }
    });
  });

  // The point's name, visible on hover and on keyboard focus (the <title> is the
  // browser's own, slower tooltip; the accessible name is the point's aria-label).
  var stage = document.querySelector(".bm-stage");
  var tip = document.getElementById("bm-tip");
  function showTip(point) {
    if (!stage || !tip) { return; }
    tip.textContent = point.getAttribute("aria-label");
    tip.hidden = false;
    var box = point.getBoundingClientRect();
    var frame = stage.getBoundingClientRect();
    var left = box.left - frame.left + box.width / 2 - tip.offsetWidth / 2;
    left = Math.max(0, Math.min(left, stage.clientWidth - tip.offsetWidth));
    var top = box.top - frame.top - tip.offsetHeight - 4;
    if (top < 0) { top = box.bottom - frame.top + 4; }
    tip.style.left = left + "px";
    tip.style.top = top + "px";
  }
  function hideTip() { if (tip) { tip.hidden = true; } }
  document.querySelectorAll(".bm-point").forEach(function (point) {
    point.addEventListener("mouseenter", function () { showTip(point); });
    point.addEventListener("focus", function () { showTip(point); });
    point.addEventListener("mouseleave", function () {
      if (document.activeElement !== point) { hideTip(); }
    });
    point.addEventListener("blur", hideTip);
  });

  // Zoom: one view shown at a time (whole body or a region drawn at touch size).
  var zoom = document.querySelectorAll(".bm-zoom button");
  zoom.forEach(function (button) {
    button.addEventListener("click", function () {
      var region = button.getAttribute("data-region");
      zoom.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      document.querySelectorAll(".bm-view").forEach(function (view) {
        view.hidden = view.getAttribute("data-region") !== region;
      });
      hideTip();
    });
  });

  // The searchable list (a combobox): typing filters, arrows move, Enter or a click adds.
  var search = document.getElementById("bm-search");
  var list = document.getElementById("bm-list");
  if (search && list) {
    var options = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
    var active = null;
    var visible = function () { return options.filter(function (o) { return !o.hidden; }); };
    var activate = function (option) {
      if (active) { active.classList.remove("active"); active.setAttribute("aria-selected", "false"); }
      active = option;
      if (option) {
        option.classList.add("active");
        option.setAttribute("aria-selected", "true");
        search.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({block: "nearest"});
        doseHelp(option.getAttribute("data-muscle"), option.getAttribute("data-side"));
      } else {
        search.removeAttribute("aria-activedescendant");
      }
    };
    var pick = function (option) {
      choose(option.getAttribute("data-muscle"), option.getAttribute("data-side"));
    };
    // the search box is not part of the plan: its typing does not run the live check
    ["input", "change"].forEach(function (type) {
      search.addEventListener(type, function (e) { e.stopPropagation(); });
    });
    search.addEventListener("input", function () {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      options.forEach(function (o) {
        var text = o.textContent.toLowerCase();
        o.hidden = !words.every(function (w) { return text.indexOf(w) !== -1; });
      });
      document.getElementById("bm-none").hidden = visible().length > 0;
      activate(words.length && visible().length ? visible()[0] : null);
    });
    search.addEventListener("keydown", function (e) {
      var shown = visible();
      var at = active ? shown.indexOf(active) : -1;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (!shown.length) { return; }
        var next = e.key === "ArrowDown" ? Math.min(at + 1, shown.length - 1) : Math.max(at - 1, 0);
        activate(shown[next]);
      } else if (e.key === "Enter") {
        e.preventDefault();  // never submits the plan
        if (active && !active.hidden) { pick(active); }
      } else if (e.key === "Escape") {
        search.value = "";
        search.dispatchEvent(new Event("input"));
      }
    });
    options.forEach(function (o) {
      o.addEventListener("click", function () { activate(o); pick(o); });
    });
  }

  tbody.addEventListener("click", function (e) {
    if (e.target.classList.contains("remove-row")) {
      e.target.closest("tr").remove();
      recheck();
    }
  });

  function placeFindings() {
    tbody.querySelectorAll("tr").forEach(function (row) {
      var key = row.querySelector("select[name=muscle]").value + "|" +
                row.querySelector("select[name=side]").value;
      var cell = row.querySelector(".row-findings");
      cell.innerHTML = "";
      document.querySelectorAll("#check li.finding").forEach(function (li) {
        if (li.getAttribute("data-key") === key) {
          var badge = li.querySelector(".badge").cloneNode(true);
          // plain words on the row; the finding's code only in the tooltip
          badge.title = li.getAttribute("title") + ": " +
            li.firstElementChild.nextSibling.textContent.trim();
          badge.setAttribute("data-code", li.getAttribute("data-code"));
          cell.appendChild(badge);
        }
      });
    });
  }
  // Dose help: a muscle clicked or focused (a body map point, a row's muscle or units)
  // loads the panel for it with the form's product, indication and weight.
  var helpBox = document.getElementById("dose-help");
  var shown = null;
  function doseHelp(muscle, side, force) {
    if (!helpBox || !muscle || !window.htmx) { return; }
    var params = new URLSearchParams({
      product: form.querySelector("[name=product]").value,
      indication: form.querySelector("[name=indication]").value,
      muscle: muscle, side: side || "",
      weight_kg: form.querySelector("[name=weight_kg]").value});
    var url = helpBox.getAttribute("data-url") + "?" + params.toString();
    if (url === shown && !force) { return; }
    shown = url;
    window.htmx.ajax("GET", url, {target: "#dose-help", swap: "innerHTML"});
  }
  function rowHelp(row, force) {
    if (!row) { return; }
    doseHelp(row.querySelector("select[name=muscle]").value,
             row.querySelector("select[name=side]").value, force);
  }
  document.querySelectorAll(".bm-point").forEach(function (point) {
    point.addEventListener("focus", function () {
      doseHelp(point.getAttribute("data-muscle"), point.getAttribute("data-side"));
    });
  });
  tbody.addEventListener("focusin", function (e) { rowHelp(e.target.closest("tr")); });
  tbody.addEventListener("change", function (e) {
    if (e.target.matches("select[name=muscle], select[name=side]")) {
      rowHelp(e.target.closest("tr"));
    }
  });
  ["product", "indication", "weight_kg"].forEach(function (name) {
    form.querySelector("[name=" + name + "]").addEventListener("change", function () {
      if (shown) {
        var q = new URLSearchParams(shown.split("?")[1]);
        doseHelp(q.get("muscle"), q.get("side"), true);
      }
    });
  });

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && e.target.id !== "dose-help") { placeFindings(); }
  });
  // Saving the patient's medicines (their own small form) runs the live check again.
  document.body.addEventListener("medicines-saved", recheck);
  placeFindings();
})();
