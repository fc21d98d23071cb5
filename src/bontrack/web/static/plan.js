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

  function choose(point) {
    doseHelp(point.getAttribute("data-muscle"), point.getAttribute("data-side"));
    addRow(point.getAttribute("data-muscle"), point.getAttribute("data-side"));
    point.classList.add("chosen");
    recheck();
  }
  document.querySelectorAll(".bm-point").forEach(function (point) {
    point.addEventListener("click", function () { choose(point); });
    point.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); choose(point); }
    });
  });

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
