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
  document.body.addEventListener("htmx:afterSwap", placeFindings);
  // Saving the patient's medicines (their own small form) runs the live check again.
  document.body.addEventListener("medicines-saved", recheck);
  placeFindings();
})();
