/**
 * A min-heap of the moments things fall due on one limit (a lease's expiry, a reservation's drop,
 * an increment's fold, a tombstone's end), so expiry costs O(log n) per item instead of a scan of
 * every row. Entries are hints: a stale one (the row was renewed, released or re-keyed) is skipped
 * when it surfaces. Pure.
 */

export interface DueEntry {
  at: number;
  /** `t` + ticket id, or `r` + request id (a tombstone). */
  key: string;
}

export function pushDue(heap: DueEntry[], entry: DueEntry): void {
  heap.push(entry);
  let index = heap.length - 1;
  while (index > 0) {
    const parent = (index - 1) >> 1;
    const above = heap[parent] as DueEntry;
    if (above.at <= entry.at) {
      break;
    }
    heap[index] = above;
    index = parent;
  }
  heap[index] = entry;
}

export function popDue(heap: DueEntry[]): DueEntry | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top === undefined || last === undefined || heap.length === 0) {
    return top;
  }
  let index = 0;
  for (;;) {
    const left = 2 * index + 1;
    if (left >= heap.length) {
      break;
    }
    const right = left + 1;
    const smaller = right < heap.length && (heap[right] as DueEntry).at < (heap[left] as DueEntry).at ? right : left;
    const child = heap[smaller] as DueEntry;
    if (last.at <= child.at) {
      break;
    }
    heap[index] = child;
    index = smaller;
  }
  heap[index] = last;
  return top;
}
