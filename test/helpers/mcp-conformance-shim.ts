// Loader shim for @modelcontextprotocol/conformance on Node 20: it imports `globSync` from 'fs', which
// Node 22 added. Only its tier-check command calls it (for `**/checks.json`), so a small walk stands in.
import { register } from 'node:module';

const fsWithGlob = `
import * as fs from 'node:fs';
import { join, relative } from 'node:path';
export * from 'node:fs';
export default fs.default;
export function globSync(pattern, options = {}) {
  if (typeof fs.globSync === 'function') return fs.globSync(pattern, options);
  const cwd = String(options.cwd ?? process.cwd());
  const name = String(pattern).replace(/^\\*\\*\\//, '');
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === name) found.push(relative(cwd, path));
    }
  };
  if (fs.existsSync(cwd)) walk(cwd);
  return found;
}`;

const hooks = `
const shim = 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(fsWithGlob)});
export async function resolve(specifier, context, next) {
  if (specifier === 'fs') return { url: shim, shortCircuit: true };
  return next(specifier, context);
}`;

register(`data:text/javascript,${encodeURIComponent(hooks)}`);
