// struct list_head lists over a bounded pool of nodes in the state (heads and entries, each with next
// and prev): list_add[_tail], list_del[_init], list_splice_tail_init, list_empty and the
// list_for_each_entry[_safe] walk, each a step-sized call, with CONFIG_DEBUG_LIST's checks (LIST_CORRUPT)
// and use-after-free of an entry whose object is freed (UAF). Owns the link fields, not the objects.

import { array, bool, int, record } from '../model/schema.ts';
import { ModelError } from '../model/errors.ts';
import { BLOCKED } from '../model/model.ts';
import { Fault, raise } from './faults.ts';
import { ptState, type PtState } from './pgtable.ts';

/** A link value: 0 = the node itself (INIT_LIST_HEAD), k >= 1 = node k-1, LIST_POISON after list_del. */
export const LIST_SELF = 0;
/** LIST_POISON1 / LIST_POISON2: what list_del() leaves in next / prev. */
export const LIST_POISON = -1;

/** A list_head node as steps see it: next, prev (node indices) and whether its object was freed. */
export interface ListNodeView {
  next: number;
  prev: number;
  /** the object holding this entry was freed (kfree etc.); unused for heads and table-embedded entries */
  freed: boolean;
}
type Nodes = readonly ListNodeView[];

/** The lists a model declares: the heads and the entries of the node pool. */
export interface ListDecl {
  /** names of the list heads (nodes 0..heads-1), e.g. 'kernel_pgtable_work.list' */
  readonly heads: readonly string[];
  /** number of entries (nodes heads..heads+entries-1) */
  readonly entries: number;
  /** display name of entry i (default `entry${i}`) */
  readonly entryName?: (i: number) => string;
  /**
   * Entry i is embedded in page table T(table(i)) (ptdesc->pt_list): it is freed when that table is.
   * Without it an entry is freed by listObjFree().
   */
  readonly table?: (i: number) => number;
}

/**
 * A pool of list nodes and the list operations on it. Declare the state field with `spec()`, and pass
 * that field's view (`s.lists`, say) and node ids (`head(name)`, `entry(i)`) to each operation.
 */
export function kernelList(d: ListDecl) {
  const H = d.heads.length;
  const N = H + d.entries;
  const name = (n: number): string => (n < H ? d.heads[n]! : (d.entryName?.(n - H) ?? `entry${n - H}`));
  const fmt = (v: number): string => (v === LIST_SELF ? 'self' : v === LIST_POISON ? 'LIST_POISON' : `&${name(v - 1)}`);

  const node = (L: Nodes, n: number): ListNodeView => {
    const x = L[n];
    if (!x) throw new ModelError(`list: no node ${n} (the pool has ${L.length})`);
    return x;
  };
  /** A load or store of node n's links: UAF if its object is freed. */
  const touch = (s: { faults: number }, L: Nodes, n: number): ListNodeView => {
    const x = node(L, n);
    if (n >= H) {
      const freed = d.table ? ptState(s as PtState, d.table(n - H)) === 'freed' : x.freed;
      if (freed) raise(s, Fault.UAF);
    }
    return x;
  };
  /** Absolute node id from a link value read at node n (-1 for a poison pointer). */
  const target = (n: number, v: number): number => (v === LIST_SELF ? n : v === LIST_POISON ? -1 : v - 1);
  /** Link value to store at node `at` to point to node `to`. */
  const link = (at: number, to: number): number => (at === to ? LIST_SELF : to + 1);

  const readNext = (s: { faults: number }, L: Nodes, n: number): number => {
    const t = target(n, touch(s, L, n).next);
    if (t < 0) raise(s, Fault.LIST_CORRUPT);
    return t;
  };
  const readPrev = (s: { faults: number }, L: Nodes, n: number): number => {
    const t = target(n, touch(s, L, n).prev);
    if (t < 0) raise(s, Fault.LIST_CORRUPT);
    return t;
  };
  const setNext = (s: { faults: number }, L: Nodes, n: number, to: number) => void (touch(s, L, n).next = link(n, to));
  const setPrev = (s: { faults: number }, L: Nodes, n: number, to: number) => void (touch(s, L, n).prev = link(n, to));

  /** __list_add(new, prev, next) with __list_add_valid(): corruption is recorded and the add skipped. */
  function add(s: { faults: number }, L: Nodes, nw: number, prev: number, next: number): void {
    if (prev < 0 || next < 0) return; // a poison pointer was followed: already LIST_CORRUPT
    if (readPrev(s, L, next) !== prev || readNext(s, L, prev) !== next || nw === prev || nw === next) {
      raise(s, Fault.LIST_CORRUPT);
      return;
    }
    setPrev(s, L, next, nw);
    setNext(s, L, nw, next);
    setPrev(s, L, nw, prev);
    setNext(s, L, prev, nw);
  }

  /** __list_del_entry_valid() and __list_del(): false if the entry's links are corrupt (recorded). */
  function unlink(s: { faults: number }, L: Nodes, e: number): boolean {
    const x = touch(s, L, e);
    if (x.next === LIST_POISON || x.prev === LIST_POISON) {
      raise(s, Fault.LIST_CORRUPT); // "list_del corruption, ... next is LIST_POISON1"
      return false;
    }
    const prev = target(e, x.prev);
    const next = target(e, x.next);
    if (readNext(s, L, prev) !== e || readPrev(s, L, next) !== e) {
      raise(s, Fault.LIST_CORRUPT);
      return false;
    }
    setPrev(s, L, next, prev);
    setNext(s, L, prev, next);
    return true;
  }

  return {
    /** The state field: the node pool, every node initialised to point to itself (INIT_LIST_HEAD). */
    spec: () =>
      array(
        N,
        record({ next: int(LIST_POISON, N, LIST_SELF, fmt), prev: int(LIST_POISON, N, LIST_SELF, fmt), freed: bool() }),
        (n) => name(n),
      ),
    /** A local holding a node id (list_for_each_entry's `pos` or `n`); -1 = not set. */
    cursor: () => int(-1, N - 1, -1, (v) => (v < 0 ? '-' : name(v))),
    /** node id of a head, by name */
    head(h: string): number {
      const i = d.heads.indexOf(h);
      if (i < 0) throw new ModelError(`list: no head '${h}'`);
      return i;
    },
    /** node id of entry i */
    entry(i: number): number {
      if (i < 0 || i >= d.entries) throw new ModelError(`list: no entry ${i}`);
      return H + i;
    },
    /** entry index of a node id (for list_entry()/container_of), -1 for a head */
    entryIndex(n: number): number {
      return n >= H ? n - H : -1;
    },
    nodeName: name,

    /** INIT_LIST_HEAD(). */
    init(s: { faults: number }, L: Nodes, n: number): void {
      const x = touch(s, L, n);
      x.next = LIST_SELF;
      x.prev = LIST_SELF;
    },
    /** list_add(new, head): insert after head (a stack). CONFIG_DEBUG_LIST checks: LIST_CORRUPT. */
    add(s: { faults: number }, L: Nodes, nw: number, head: number): void {
      add(s, L, nw, head, readNext(s, L, head));
    },
    /** list_add_tail(new, head): insert before head (a queue). */
    addTail(s: { faults: number }, L: Nodes, nw: number, head: number): void {
      add(s, L, nw, readPrev(s, L, head), head);
    },
    /** list_del(entry): unlink and poison (LIST_POISON1/2); a later list_del or walk through it is LIST_CORRUPT. */
    del(s: { faults: number }, L: Nodes, e: number): void {
      if (!unlink(s, L, e)) return;
      const x = touch(s, L, e);
      x.next = LIST_POISON;
      x.prev = LIST_POISON;
    },
    /** list_del_init(entry): unlink and point the entry at itself. */
    delInit(s: { faults: number }, L: Nodes, e: number): void {
      if (!unlink(s, L, e)) return;
      const x = touch(s, L, e);
      x.next = LIST_SELF;
      x.prev = LIST_SELF;
    },
    /** list_empty(head): head->next == head. */
    empty(s: { faults: number }, L: Nodes, head: number): boolean {
      return readNext(s, L, head) === head;
    },
    /** list_splice_tail_init(list, head): move every entry of `list` to the tail of `head`; `list` ends empty. */
    spliceTailInit(s: { faults: number }, L: Nodes, list: number, head: number): void {
      const first = readNext(s, L, list);
      if (first === list || first < 0) return;
      const last = readPrev(s, L, list);
      const at = readPrev(s, L, head);
      if (last < 0 || at < 0) return;
      setPrev(s, L, first, at);
      setNext(s, L, at, first);
      setNext(s, L, last, head);
      setPrev(s, L, head, last);
      const x = touch(s, L, list);
      x.next = LIST_SELF;
      x.prev = LIST_SELF;
    },
    /** pos->next (what list_for_each_entry's step reads): UAF if pos's object is freed, LIST_CORRUPT on poison. */
    next: readNext,
    /** pos->prev. */
    prev: readPrev,
    /** Marks the object holding entry node `e` freed (kfree of the container): later touches are UAF. */
    objFree(L: Nodes, e: number): void {
      if (e < H) throw new ModelError(`list: '${name(e)}' is a head, not an entry`);
      if (d.table) throw new ModelError('list: entries embedded in tables are freed with their table (ptFree)');
      node(L, e).freed = true;
    },
    /** Node ids on `head`'s list, in order (for properties; reads nothing else, records nothing). */
    members(L: Nodes, head: number): number[] {
      const out: number[] = [];
      let n = target(head, node(L, head).next);
      while (n >= 0 && n !== head && out.length <= N) {
        out.push(n);
        n = target(n, node(L, n).next);
      }
      return out;
    },

    /**
     * list_for_each_entry[_safe](pos, head, member) as two labels: `start` sets me[pos] = head->next,
     * `step` advances it; each goes to `body` while pos is not the head, else to `done`. The body returns
     * `step` when it is finished with pos. With `safe` (a local name), `n = pos->next` is read before the
     * body runs, so the body may free pos (list_for_each_entry_safe); without it, `step` reads
     * pos->next after the body: a use-after-free if the body freed pos.
     */
    forEach<const Start extends string, const Step extends string, const Body extends string, const Done extends string>(o: {
      readonly list: (s: any) => Nodes;
      readonly head: number;
      readonly pos: string;
      readonly safe?: string;
      readonly start: Start;
      readonly step: Step;
      readonly body: Body;
      readonly done: Done;
    }) {
      const enter = (s: any, me: any, pos: number): Body | Done => {
        me[o.pos] = pos;
        if (pos < 0 || pos === o.head) return o.done;
        if (o.safe) me[o.safe] = readNext(s, o.list(s), pos);
        return o.body;
      };
      return {
        [o.start]: (s: any, me: any): Body | Done | typeof BLOCKED => enter(s, me, readNext(s, o.list(s), o.head)),
        [o.step]: (s: any, me: any): Body | Done | typeof BLOCKED => enter(s, me, o.safe ? me[o.safe] : readNext(s, o.list(s), me[o.pos])),
      } as { [K in Start | Step]: (s: any, me: any) => Body | Done | typeof BLOCKED };
    },
  };
}

/** The list primitives bound to one declared pool (what kernelList() returns). */
export type KernelList = ReturnType<typeof kernelList>;
