// Summarises the largest .cpuprofile in a directory: self time per function, highest first.
//   node --import tsx bench/top-profile.ts /tmp/prof [rows]

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
}
const dir = process.argv[2] ?? '/tmp/prof';
const rows = Number(process.argv[3] ?? 25);
const file = readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .map((f) => join(dir, f))
  .sort((a, b) => statSync(b).size - statSync(a).size)[0];
if (!file) throw new Error(`no .cpuprofile in ${dir}`);
const p = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
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
