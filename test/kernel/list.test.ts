import { describe, expect, it } from 'vitest';
import { BLOCKED, DONE, thread } from '../../src/model/model.ts';
import { Fault, LIST_POISON, kernelList, kernelState, lock, noFault, ptFree, ptInitLive, spinLock, spinUnlock } from '../../src/kernel/index.ts';
import { verdicts } from './kit.ts';

const pool = kernelList({ heads: ['list', 'other'], entries: 3, entryName: (i) => `e${i}` });
const fresh = () => Array.from({ length: 5 }, () => ({ next: 0, prev: 0, freed: false }));
const [A, B, C] = [pool.entry(0), pool.entry(1), pool.entry(2)];
const head = pool.head('list');
const other = pool.head('other');

describe('list primitives', () => {
  it('list_add pushes at the front, list_add_tail at the back; list_del unlinks and poisons', () => {
    const s = { faults: 0 };
    const L = fresh();
    expect(pool.empty(s, L, head)).toBe(true);
    pool.addTail(s, L, A, head);
    pool.addTail(s, L, B, head);
    pool.add(s, L, C, head);
    expect(pool.members(L, head)).toEqual([C, A, B]);
    expect(pool.prev(s, L, head)).toBe(B);
    pool.del(s, L, A);
    expect(pool.members(L, head)).toEqual([C, B]);
    expect([L[A]!.next, L[A]!.prev]).toEqual([LIST_POISON, LIST_POISON]);
    expect(s.faults).toBe(0);
  });

  it('list_del twice, or following a poisoned next, is list corruption', () => {
    const s = { faults: 0 };
    const L = fresh();
    pool.addTail(s, L, A, head);
    pool.del(s, L, A);
    pool.del(s, L, A);
    expect(s.faults).toBe(Fault.LIST_CORRUPT);
    const s2 = { faults: 0 };
    pool.next(s2, L, A);
    expect(s2.faults).toBe(Fault.LIST_CORRUPT);
  });

  it('list_del_init leaves the entry empty and reusable; a double add is caught', () => {
    const s = { faults: 0 };
    const L = fresh();
    pool.add(s, L, A, head);
    pool.delInit(s, L, A);
    expect(pool.empty(s, L, A)).toBe(true);
    pool.add(s, L, A, head);
    expect(s.faults).toBe(0);
    pool.add(s, L, A, head); // already first: new == next
    expect(s.faults).toBe(Fault.LIST_CORRUPT);
    expect(pool.members(L, head)).toEqual([A]);
  });

  it('list_splice_tail_init moves a whole list to the tail and empties the source', () => {
    const s = { faults: 0 };
    const L = fresh();
    pool.addTail(s, L, A, other);
    pool.addTail(s, L, B, head);
    pool.addTail(s, L, C, head);
    pool.spliceTailInit(s, L, head, other);
    expect(pool.members(L, other)).toEqual([A, B, C]);
    expect(pool.empty(s, L, head)).toBe(true);
    expect(s.faults).toBe(0);
  });

  it('reading next of a freed entry is a use-after-free', () => {
    const s = { faults: 0 };
    const L = fresh();
    pool.add(s, L, A, head);
    pool.objFree(L, A);
    pool.next(s, L, A);
    expect(s.faults).toBe(Fault.UAF);
  });
});

/**
 * The deferred kernel page-table free (protocols.md §6): a producer queues T1 and T2 on the work list
 * under its lock; the worker splices the list to a local page_list under the lock, then walks it freeing
 * each table. With list_for_each_entry_safe the walk is safe; the plain walk reads pt_list.next of the
 * table it just freed.
 */
function asyncFree(safe: boolean) {
  const pl = kernelList({ heads: ['work.list', 'page_list'], entries: 2, entryName: (i) => `T${i + 1}.pt_list`, table: (i) => i + 1 });
  const st = kernelState({ tables: 2 }, { lists: pl.spec(), wl: lock() });
  const work = pl.head('work.list');
  const page = pl.head('page_list');
  const producer = thread(st, {
    steps: {
      spin_lock: (s, me) => (spinLock(me, s.wl) ? 'list_add' : BLOCKED),
      list_add: (s, me) => {
        pl.add(s, s.lists, pl.entry(0), work);
        pl.add(s, s.lists, pl.entry(1), work);
        spinUnlock(s, me, s.wl);
        return DONE;
      },
    },
  });
  const worker = thread(st, {
    locals: { pos: pl.cursor(), n: pl.cursor() },
    steps: {
      spin_lock: (s, me) => (spinLock(me, s.wl) ? 'list_splice_tail_init' : BLOCKED),
      list_splice_tail_init: (s, me) => {
        pl.spliceTailInit(s, s.lists, work, page);
        spinUnlock(s, me, s.wl);
        return 'for_each';
      },
      ...pl.forEach({ list: (s) => s.lists, head: page, pos: 'pos', ...(safe ? { safe: 'n' } : {}), start: 'for_each', step: 'next', body: 'free', done: 'out' }),
      free: (s, me) => (ptFree(s, pl.entryIndex(me.pos) + 1), 'next'),
      out: () => DONE,
    },
  });
  return {
    state: st,
    init: (s: any) => (ptInitLive(s, 1), ptInitLive(s, 2)),
    threads: { producer, worker },
    properties: [noFault('no-use-after-free', Fault.UAF), noFault('no-list-corruption', Fault.LIST_CORRUPT)],
  };
}

describe('list_for_each_entry over entries embedded in tables', () => {
  it('list_for_each_entry_safe may free the entry it is on', () => {
    expect(verdicts(asyncFree(true))).toEqual({ 'no-use-after-free': 'holds', 'no-list-corruption': 'holds', 'deadlock-free': 'holds' });
  });

  it('the plain walk reads next of the table it just freed', () => {
    expect(verdicts(asyncFree(false))).toMatchObject({ 'no-use-after-free': 'violated', 'no-list-corruption': 'holds' });
  });
});
