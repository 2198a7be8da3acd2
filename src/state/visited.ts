// The interface every visited set offers the search (local growable table, shared table of workers).

export interface VisitedSet {
  /** 1 if (hi, lo) was absent and is now stored, 0 if present, -1 if the set is full */
  insertIfAbsent(hi: number, lo: number): number;
  /** whether (hi, lo) is stored (nothing is inserted) */
  has(hi: number, lo: number): boolean;
  /** bytes the set occupies */
  readonly bytes: number;
  /** the memory behind a set that several objects (threads, tasks) view: it identifies the set */
  readonly shared?: object;
}
