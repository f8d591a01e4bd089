/* Sortable, filterable tables: enhances every .setdyn-table (setdyn.display.sortable_table).
   Click (or Enter on) a column header to sort by it, again to reverse; type in the box to keep
   the rows whose text contains every word typed. No library, no network. */
(function () {
  "use strict";
  function enhance(box) {
    if (box.dataset.enhanced) return;
    box.dataset.enhanced = "1";
    var table = box.querySelector("table");
    if (!table || !table.tBodies.length) return;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var tools = document.createElement("div");
    tools.className = "setdyn-table-tools";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "filter rows (e.g. phase)";
    input.setAttribute("aria-label", "filter the table's rows");
    var count = document.createElement("span");
    count.className = "setdyn-table-count";
    tools.appendChild(input);
    tools.appendChild(count);
    box.insertBefore(tools, box.firstChild);
    var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    function showCount(n) { count.textContent = n + " of " + rows.length + " rows"; }
    function filter() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var n = 0;
      rows.forEach(function (r, i) {
        var keep = words.every(function (w) { return texts[i].indexOf(w) >= 0; });
        r.hidden = !keep;
        if (keep) n++;
      });
      showCount(n);
    }
    input.addEventListener("input", filter);
    showCount(rows.length);
    var heads = Array.prototype.slice.call(table.tHead ? table.tHead.rows[0].cells : []);
    heads.forEach(function (th, col) {
      function sort() {
        var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
        var numeric = th.dataset.type === "num";
        function key(r) {
          var c = r.cells[col];
          if (!numeric) return c.textContent;
          var v = c.dataset.value;
          return v === "" || v === undefined ? NaN : parseFloat(v);
        }
        var keyed = rows.map(function (r, i) { return [key(r), i, r]; });
        keyed.sort(function (a, b) {
          var x = a[0], y = b[0];
          if (numeric) {
            var xn = isNaN(x), yn = isNaN(y);
            if (xn || yn) return xn === yn ? a[1] - b[1] : (xn ? 1 : -1); /* blanks last */
            return x === y ? a[1] - b[1] : dir * (x - y);
          }
          var c = x.localeCompare(y, undefined, { numeric: true });
          return c === 0 ? a[1] - b[1] : dir * c;
        });
        rows = keyed.map(function (k) { return k[2]; });
        texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  }
  function all() { document.querySelectorAll(".setdyn-table").forEach(enhance); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all);
  else all();
})();
