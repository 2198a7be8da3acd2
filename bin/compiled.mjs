// Whether dist/ (scripts/build.mjs, run by npm's prepare) is the compiled form of the sources as they
// are now: every source it was built from still has the size and modification time it had then. A
// source edited since, or no dist/, means running the sources through the tsx loader instead.

import { readFileSync, statSync } from 'node:fs';

const DIST = new URL('../dist/', import.meta.url);

/** The URL of dist/ when it is fresh, else undefined (PTCHECK_FROM_SOURCE=1: always undefined). */
export function freshDist() {
  if (process.env.PTCHECK_FROM_SOURCE === '1') return undefined;
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('manifest.json', DIST), 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest?.format !== 'ptcheck-dist' || manifest.version !== 1) return undefined;
  const root = new URL('../', DIST);
  for (const [rel, [size, mtimeMs]] of Object.entries(manifest.files)) {
    const st = statSync(new URL(rel, root), { throwIfNoEntry: false });
    if (!st || st.size !== size || st.mtimeMs !== mtimeMs) return undefined;
  }
  return DIST.href;
}
