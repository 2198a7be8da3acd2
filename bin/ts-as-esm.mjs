// Loader hook: every .ts/.mts file is an ES module, wherever it lives. A model, spec or variant file
// kept outside any package with "type": "module" would otherwise load as CommonJS and fail to import
// ptcheck's own (ESM) modules. Registered after tsx by bin/ptcheck.js and the worker entry.

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith('file:') && /\.m?ts$/.test(r.url) && r.format !== 'module') return { ...r, format: 'module' };
  return r;
}
