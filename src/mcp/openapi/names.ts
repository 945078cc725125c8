// Tool names from operations, and the include/exclude filters. MCP tool names (SEP-986, spec 2025-11-25):
// 1–128 characters of A–Z a–z 0–9 _ - . ; case-sensitive; unique within a server.
import type { OperationFilter } from './config.js';

export const maxToolNameLength = 128;
const invalidRun = /[^A-Za-z0-9_.-]+/g;

/** operationId as a tool name: each run of other characters becomes `_`, and `_` at either end goes. */
export function sanitizeName(raw: string): string {
  return raw.replace(invalidRun, '_').replace(/^[_.-]+|[_.-]+$/g, '');
}

/** The name of an operation without operationId: `get /pets/{petId}/photos` → `get_pets_petId_photos`. */
export function nameFromPath(method: string, path: string): string {
  const words = path.split('/').map((segment) => sanitizeName(segment.replace(/[{}]/g, ''))).filter(Boolean);
  return [method.toLowerCase(), ...words].join('_');
}

/** Hands out names unique within one source: the second `x` is `x_2`, the third `x_3`, all within the length bound. */
export class ToolNames {
  private readonly taken = new Set<string>();

  constructor(
    private readonly prefix: string,
    private readonly maxLength: number,
  ) {}

  claim(base: string): string {
    const whole = (this.prefix + base).slice(0, this.maxLength);
    if (!this.taken.has(whole)) return this.take(whole);
    for (let n = 2; ; n++) {
      const suffix = `_${n}`;
      const candidate = whole.slice(0, this.maxLength - suffix.length) + suffix;
      if (!this.taken.has(candidate)) return this.take(candidate);
    }
  }

  private take(name: string): string {
    this.taken.add(name);
    return name;
  }
}

/** A path glob as a RegExp over path templates: `*` one segment's characters, `**` anything (slashes too). */
export function pathGlob(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (char === '*') source += '[^/]*';
    else source += char.replace(/[\\^$.+?()[\]{}|]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export interface OperationFacts {
  path: string;
  operationId: string | undefined;
  tags: string[];
}

export type OperationMatcher = (operation: OperationFacts) => boolean;

/** A filter as a predicate; undefined when the filter lists nothing (so it neither includes nor excludes). */
export function compileFilter(filter: OperationFilter | undefined): OperationMatcher | undefined {
  const tags = new Set(filter?.tags ?? []);
  const operations = new Set(filter?.operations ?? []);
  const paths = (filter?.paths ?? []).map(pathGlob);
  if (tags.size === 0 && operations.size === 0 && paths.length === 0) return undefined;
  return (operation) =>
    operation.tags.some((tag) => tags.has(tag)) ||
    (operation.operationId !== undefined && operations.has(operation.operationId)) ||
    paths.some((glob) => glob.test(operation.path));
}
