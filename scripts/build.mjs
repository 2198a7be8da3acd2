// Builds dist/ (npm's prepare runs it, so npm ci does): the sources compiled to JavaScript by the
// TypeScript compiler, without typechecking (npm test does that), and dist/manifest.json, the size and
// modification time of every source as it was compiled. bin/ptcheck.js runs dist/ only while every
// source is unchanged (bin/compiled.mjs); otherwise it runs the sources through tsx.
// Usage: node scripts/build.mjs

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIRS = ['src', 'models', 'specs', 'examples']; // tsconfig.build.json's include
const req = createRequire(join(ROOT, 'package.json'));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The compiler's native binary when installed (no Node start for its wrapper), else the wrapper. */
function tscCommand() {
  try {
    const pkg = req.resolve(`@typescript/typescript-${process.platform}-${process.arch}/package.json`);
    const exe = join(dirname(pkg), 'lib', process.platform === 'win32' ? 'tsc.exe' : 'tsc');
    if (existsSync(exe)) return [exe];
  } catch {
    /* the wrapper below finds it, or says why not */
  }
  return [process.execPath, join(dirname(req.resolve('typescript/package.json')), 'bin', 'tsc')];
}

// the sources' stamps are taken before compiling: a file edited meanwhile leaves dist/ stale, not wrong
const files = {};
for (const d of DIRS) {
  if (!existsSync(join(ROOT, d))) continue;
  for (const f of sources(join(ROOT, d))) {
    const st = statSync(f);
    files[relative(ROOT, f).split('\\').join('/')] = [st.size, st.mtimeMs];
  }
}
// closed: every relative or absolute import of a source is a source too (the load-time typecheck then
// keys shipped files by this build instead of reading them: src/cli/typecheck.ts); the same imports,
// and the same ways of naming a file, as that typecheck follows
const IMPORT_RE = /(?:\bfrom|\bimport)\s*\(?\s*['"]((?:\.{1,2})?\/[^'"]+)['"]/g;
const closed = Object.keys(files).every((rel) =>
  [...readFileSync(join(ROOT, rel), 'utf8').matchAll(IMPORT_RE)].every((m) => {
    const base = resolve(ROOT, dirname(rel), m[1]);
    const tries = [base, base.replace(/\.m?js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
    const hit = tries.find((p) => existsSync(p) && statSync(p).isFile());
    return hit === undefined || Object.hasOwn(files, relative(ROOT, hit).split('\\').join('/'));
  }),
);
const out = join(ROOT, 'dist');
const tmp = join(ROOT, `dist.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
const [cmd, ...pre] = tscCommand();
const r = spawnSync(cmd, [...pre, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', tmp], { cwd: ROOT, stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(tmp, { recursive: true, force: true });
  console.error(`build: the TypeScript compiler failed (${r.error?.message ?? `exit ${r.status}`}); bin/ptcheck.js will run the sources through tsx`);
  process.exit(1);
}
for (const rel of Object.keys(files)) {
  if (!existsSync(join(tmp, rel.replace(/\.ts$/, '.js')))) {
    rmSync(tmp, { recursive: true, force: true });
    console.error(`build: no compiled file for ${rel}`);
    process.exit(1);
  }
}
writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ format: 'ptcheck-dist', version: 1, closed, files }) + '\n');
rmSync(out, { recursive: true, force: true });
renameSync(tmp, out);
