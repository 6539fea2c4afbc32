// On a phone a table becomes a card per row (app.css, table.stacks): each cell is named by
// its column's header here, unless the page named it (data-label), and what it holds is
// kept in one piece. Without this script the table stays a table, scrolling in its own box.
(function () {
  "use strict";
  // A cell of words and links mixed stays one piece beside its name.
  function together(cell) {
    var pieces = Array.prototype.filter.call(cell.childNodes, function (node) {
      return node.nodeType === 1 || node.textContent.trim() !== "";
    });
    if (pieces.length < 2 || cell.querySelector(":scope > .cell")) return;
    var wrap = document.createElement("div");
    wrap.className = "cell";
    while (cell.firstChild) wrap.appendChild(cell.firstChild);
    cell.appendChild(wrap);
  }
  function name(root) {
    root.querySelectorAll("table").forEach(function (table) {
      var head = table.tHead;
      if (!head || !head.rows.length) return;
      var names = [];
      Array.prototype.forEach.call(head.rows[head.rows.length - 1].cells, function (th) {
        for (var i = 0; i < (th.colSpan || 1); i++) names.push(th.textContent.trim());
      });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            if (!cell.hasAttribute("data-label") && names[column]) {
              cell.setAttribute("data-label", names[column]);
            }
            together(cell);
            column += cell.colSpan || 1;
          });
        });
      });
      table.classList.add("stacks");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { name(document); });
  document.addEventListener("htmx:afterSettle", function (event) { name(event.target); });
})();
