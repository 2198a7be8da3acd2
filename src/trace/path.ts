// A counterexample is a list of choices; a choice is (thread id, alternative). One encoding serves
// traces, replay, CLI arguments and tests: "2.0.1/1" = thread 2, thread 0, thread 1 alternative 1;
// on the command line a run of one choice may be written once with a count: "0*5.1" = 0.0.0.0.0.1.

import { InputError } from '../model/errors.ts';

export const ALT_SHIFT = 5; // up to 32 threads
export const TID_MASK = (1 << ALT_SHIFT) - 1;

export function encodeChoice(tid: number, alt: number): number {
  return (alt << ALT_SHIFT) | tid;
}
export function choiceTid(c: number): number {
  return c & TID_MASK;
}
export function choiceAlt(c: number): number {
  return c >>> ALT_SHIFT;
}

export function pathToString(choices: readonly number[]): string {
  return choices.map((c) => (choiceAlt(c) === 0 ? String(choiceTid(c)) : `${choiceTid(c)}/${choiceAlt(c)}`)).join('.');
}

/** The path with every run of three or more equal choices written once with its count (`0*13`). */
export function compactPath(choices: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < choices.length; ) {
    let j = i;
    while (j < choices.length && choices[j] === choices[i]) j++;
    const one = pathToString([choices[i]!]);
    parts.push(j - i >= 3 ? `${one}*${j - i}` : Array(j - i).fill(one).join('.'));
    i = j;
  }
  return parts.join('.');
}

/** Reads a path written by pathToString or compactPath. */
export function parsePath(text: string): number[] {
  const t = text.trim();
  if (t === '' || t === '-') return [];
  return t.split('.').flatMap((part) => {
    const m = /^(\d+)(?:\/(\d+))?(?:\*(\d+))?$/.exec(part);
    if (!m) throw new InputError(`bad path element '${part}' (expected THREAD, THREAD/ALT or a run THREAD*COUNT, e.g. 2.0*3.1/1)`);
    const tid = Number(m[1]);
    const alt = m[2] === undefined ? 0 : Number(m[2]);
    const n = m[3] === undefined ? 1 : Number(m[3]);
    if (tid > TID_MASK || alt > 1000 || n < 1 || n > 100_000) throw new InputError(`path element '${part}' is out of range`);
    return Array<number>(n).fill(encodeChoice(tid, alt));
  });
}
