import { describe, expect, it } from 'vitest';
import { DONE, thread } from '../../src/model/model.ts';
import { bool, cell, int } from '../../src/model/schema.ts';
import {
  Fault,
  REFCOUNT_SATURATED,
  kernelState,
  krefGet,
  krefGetUnlessZero,
  krefPut,
  noFault,
  pageAtomicDec,
  pageAtomicDecAndTest,
  pageAtomicInc,
  pageAtomicRead,
  pageAtomicSet,
  ptFree,
  ptInitLive,
  refcount,
  refcountDec,
  refcountDecAndTest,
  refcountInc,
} from '../../src/kernel/index.ts';
import { always } from '../../src/spec/property.ts';
import { verdicts } from './kit.ts';

const c = (v: number) => ({ v, tag: 'refcount', path: 'r', off: 0 });

describe('refcount_t and kref', () => {
  it('an increment from zero warns and saturates; a saturated count never moves', () => {
    const s = { faults: 0 };
    const r = c(0);
    refcountInc(s, r);
    expect(s.faults).toBe(Fault.REFCOUNT_ZERO);
    expect(r.v).toBe(REFCOUNT_SATURATED);
    expect(refcountDecAndTest(s, r)).toBe(false);
    refcountInc(s, r);
    expect(r.v).toBe(REFCOUNT_SATURATED);
  });

  it('dec_and_test reports the last put; a put after it warns (underflow; use-after-free)', () => {
    const s = { faults: 0 };
    const r = c(2);
    expect(refcountDecAndTest(s, r)).toBe(false);
    expect(refcountDecAndTest(s, r)).toBe(true);
    expect(s.faults).toBe(0);
    expect(refcountDecAndTest(s, r)).toBe(false);
    expect(s.faults).toBe(Fault.REFCOUNT_ZERO);
  });

  it('refcount_dec to zero is a leak warning', () => {
    const s = { faults: 0 };
    const r = c(1);
    refcountDec(s, r);
    expect(s.faults).toBe(Fault.REFCOUNT_ZERO);
    expect(r.v).toBe(REFCOUNT_SATURATED);
  });

  /**
   * The owner drops the initial reference (kref_put frees the object) and only then unpublishes it; a
   * lookup that sees it published takes a reference. With kref_get the lookup may increment from zero
   * (use after the last put); with kref_get_unless_zero it fails instead.
   */
  function lookupRace(unlessZero: boolean) {
    const st = kernelState({}, { ref: refcount(1), published: bool(true), freed: bool(), used_freed: bool() });
    const owner = thread(st, {
      steps: {
        kref_put: (s) => (krefPut(s, s.ref, (x) => void (x.freed = true)), 'unpublish'),
        unpublish: (s) => ((s.published = false), DONE),
      },
    });
    const lookup = thread(st, {
      locals: { got: bool() },
      steps: {
        lookup: (s) => (s.published ? 'kref_get' : DONE),
        kref_get: (s, me) => {
          if (unlessZero) me.got = krefGetUnlessZero(s.ref);
          else {
            krefGet(s, s.ref);
            me.got = true;
          }
          return me.got ? 'use' : DONE;
        },
        use: (s) => {
          if (s.freed) s.used_freed = true;
          return 'kref_put';
        },
        kref_put: (s) => (krefPut(s, s.ref, (x) => void (x.freed = true)), DONE),
      },
    });
    return {
      state: st,
      threads: { owner, lookup },
      properties: [noFault('refcount-ok', Fault.REFCOUNT_ZERO), always('no-use-of-freed-object', 'never used after release', (s: any) => !s.used_freed)],
    };
  }

  it('kref_get racing the last put: increment from zero', () => {
    expect(verdicts(lookupRace(false))).toEqual({ 'refcount-ok': 'violated', 'no-use-of-freed-object': 'violated', 'deadlock-free': 'holds' });
  });

  it('kref_get_unless_zero: the lookup fails instead', () => {
    expect(verdicts(lookupRace(true))).toEqual({ 'refcount-ok': 'holds', 'no-use-of-freed-object': 'holds', 'deadlock-free': 'holds' });
  });
});

describe('atomics on a page-table page field', () => {
  /** Two fragments share pt_frag_refcount; each drop is atomic_dec_and_test and the last frees the page. */
  function frags(extraDrop: boolean) {
    const st = kernelState({ tables: 1 }, { frag: cell('page-field', int(-1, 3, 0)) });
    const drop = thread(st, {
      count: extraDrop ? 3 : 2,
      steps: { pte_fragment_free: (s) => (pageAtomicDecAndTest(s, 1, s.frag) ? 'free' : DONE), free: (s) => (ptFree(s, 1), DONE) },
    });
    return {
      state: st,
      init: (s: any) => {
        ptInitLive(s, 1);
        s.frag.v = 0;
        pageAtomicInc(s, 1, s.frag, 2);
      },
      threads: { drop },
      properties: [noFault('no-use-after-free', Fault.UAF), noFault('no-underflow', Fault.REFCOUNT_UNDERFLOW)],
    };
  }

  it('balanced drops free the page once and never touch it afterwards', () => {
    expect(verdicts(frags(false))).toEqual({ 'no-use-after-free': 'holds', 'no-underflow': 'holds', 'deadlock-free': 'holds' });
  });

  it('one drop too many is an atomic on a freed page (or an underflow)', () => {
    expect(verdicts(frags(true))).toMatchObject({ 'no-use-after-free': 'violated', 'no-underflow': 'violated' });
  });

  // every atomic on a field of a freed page-table page is a use after free (the struct page may already
  // belong to someone else), whatever the operation; one live page is left alone
  const OPS = {
    atomic_read: (s: any) => void pageAtomicRead(s, 1, s.frag),
    atomic_set: (s: any) => pageAtomicSet(s, 1, s.frag, 1),
    atomic_inc: (s: any) => pageAtomicInc(s, 1, s.frag),
    atomic_dec: (s: any) => pageAtomicDec(s, 1, s.frag),
  } as const;
  for (const [name, op] of Object.entries(OPS)) {
    for (const freed of [false, true]) {
      it(`${name} on a ${freed ? 'freed' : 'live'} page ${freed ? 'is' : 'is not'} a use-after-free`, () => {
        const st = kernelState({ tables: 1 }, { frag: cell('page-field', int(-1, 3, 0)) });
        const t = thread(st, {
          steps: {
            free: (s) => (freed && ptFree(s, 1), 'op'),
            op: (s) => (op(s), DONE),
          },
        });
        const v = verdicts({ state: st, init: (s: any) => (ptInitLive(s, 1), (s.frag.v = 1)), threads: { t }, properties: [noFault('no-use-after-free', Fault.UAF)] });
        expect(v['no-use-after-free']).toBe(freed ? 'violated' : 'holds');
      });
    }
  }
});
