// A counterexample is a list of choices; a choice is (thread id, alternative). One encoding serves
// traces, replay, CLI arguments and tests: "2.0.1/1" = thread 2, thread 0, thread 1 alternative 1.

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

export function parsePath(text: string): number[] {
  const t = text.trim();
  if (t === '' || t === '-') return [];
  return t.split('.').map((part) => {
    const m = /^(\d+)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new InputError(`bad path element '${part}' (expected THREAD or THREAD/ALT, e.g. 2.0.1/1)`);
    const tid = Number(m[1]);
    const alt = m[2] === undefined ? 0 : Number(m[2]);
    if (tid > TID_MASK || alt > 1000) throw new InputError(`path element '${part}' is out of range`);
    return encodeChoice(tid, alt);
  });
}
