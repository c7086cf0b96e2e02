/**
 * Row layout for the virtualised chip list. Chips wrap like inline text, but every row has the same
 * height, so the scroller only has to create the rows in view (10 k tokens stay cheap).
 * Widths come from a measuring function so this stays testable without a browser.
 */
export interface Row {
  /** [start,end) into the item list. */
  start: number;
  end: number;
}

export function layoutRows(widths: ArrayLike<number>, available: number, gap: number): Row[] {
  const rows: Row[] = [];
  let start = 0;
  let x = 0;
  for (let i = 0; i < widths.length; i++) {
    const w = widths[i];
    if (i > start && x + w > available) {
      rows.push({ start, end: i });
      start = i;
      x = 0;
    }
    x += w + gap;
  }
  if (start < widths.length) rows.push({ start, end: widths.length });
  return rows;
}

/** Rows [first,last) to create for a scroll position, with some overscan to avoid flashes. */
export function visibleRows(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  total: number,
  overscan = 4,
): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return [first, last];
}

/** Index of the row holding item `index`, by binary search. */
export function rowOf(rows: readonly Row[], index: number): number {
  let lo = 0,
    hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (index < rows[mid].start) hi = mid - 1;
    else if (index >= rows[mid].end) lo = mid + 1;
    else return mid;
  }
  return -1;
}
