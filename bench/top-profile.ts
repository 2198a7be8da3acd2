// Summarises the main thread's .cpuprofile in a directory: self time per function, highest first.
//   node --import tsx bench/top-profile.ts /tmp/prof [rows]

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
}
const dir = process.argv[2] ?? '/tmp/prof';
const rows = Number(process.argv[3] ?? 25);
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[] };
// Node writes one profile per thread (the tsx loader runs on its own): take the one that spent the
// most time in the project's own code, not the largest file.
const ownTime = (q: Profile): number => {
  const own = new Set(q.nodes.filter((n) => /\/(src|models)\//.test(n.callFrame.url)).map((n) => n.id));
  return q.samples.reduce((t, id, i) => t + (own.has(id) ? (q.timeDeltas[i] ?? 0) : 0), 0);
};
const profiles = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile);
if (profiles.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
const p = profiles.sort((a, b) => ownTime(b) - ownTime(a))[0]!;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
p.samples.forEach((id, i) => {
  const n = byId.get(id)!;
  const where = n.callFrame.url.split('/').slice(-2).join('/');
  const k = `${n.callFrame.functionName || '(anonymous)'}  ${where}`;
  self.set(k, (self.get(k) ?? 0) + (p.timeDeltas[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [k, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
  console.log(`${((t / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}
