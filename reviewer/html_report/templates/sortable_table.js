// Click a header to sort a table.sortable; numeric cells sort by data-value, empty last.
function sortTable(table, col, dir) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const key = (row) => {
    const cell = row.cells[col];
    const v = cell.dataset.value;
    if (v === undefined) return cell.textContent.trim().toLowerCase();
    return v === "" ? null : parseFloat(v);
  };
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    if (x === y) return 0;
    if (x === null) return 1;
    if (y === null) return -1;
    return (x < y ? -1 : 1) * (dir === "asc" ? 1 : -1);
  });
  rows.forEach((row) => body.appendChild(row));
  table.querySelectorAll("th").forEach((th) => th.removeAttribute("aria-sort"));
  table.tHead.rows[0].cells[col].setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
  table.dataset.sortedBy = table.tHead.rows[0].cells[col].dataset.key;
  table.dataset.sortDir = dir;
}
document.querySelectorAll("table.sortable").forEach((table) => {
  Array.from(table.tHead.rows[0].cells).forEach((th, col) => {
    th.addEventListener("click", () => {
      const dir = table.dataset.sortedBy === th.dataset.key && table.dataset.sortDir === "desc" ? "asc" : "desc";
      sortTable(table, col, dir);
    });
  });
  const initial = table.dataset.defaultSort;
  if (initial !== undefined) sortTable(table, parseInt(initial, 10), "desc");
});
