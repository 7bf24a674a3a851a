// The panel's only script (the Content-Security-Policy allows no inline script): print buttons, and wide
// tables put in a box that scrolls by itself on a narrow screen, reachable by keyboard when it does.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("main table:not(.facts)").forEach(function (table) {
    if (table.closest("section.urgent")) { return; }
    var box = document.createElement("div");
    box.className = "table-scroll";
    table.parentNode.insertBefore(box, table);
    box.appendChild(table);
    if (box.scrollWidth > box.clientWidth + 1) {
      var caption = table.querySelector("caption");
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", caption ? caption.textContent : "表（横にスクロールできます）");
    }
  });
});
