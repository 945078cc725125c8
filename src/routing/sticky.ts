// Session affinity: a consistent-hash ring per tier. Each deployment owns points on the ring in
// proportion to its weight; a session key goes to the owner of the first point at or after its hash,
// stepping over owners that cannot take the request. Adding or removing a deployment moves only the
// sessions whose points it gains or loses. A lookup is a binary search.
import type { LiveDeployment } from './live-deployment.js';
import type { Usable } from './strategies.js';

const pointsPerWeight = 160;
const maxPointsPerDeployment = 2048;

export class StickyRing {
  private readonly points: Uint32Array;
  private readonly owners: LiveDeployment[];

  constructor(members: readonly LiveDeployment[]) {
    const minWeight = Math.min(...members.map((m) => m.weight));
    const entries: Array<[number, LiveDeployment]> = [];
    for (const m of members) {
      const count = Math.min(maxPointsPerDeployment, Math.max(1, Math.round((pointsPerWeight * m.weight) / minWeight)));
      // Points depend on the deployment's id only, so they stay put when others come and go.
      for (let i = 0; i < count; i++) entries.push([hash32(`${m.id}#${i}`), m]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    this.points = Uint32Array.from(entries, (e) => e[0]);
    this.owners = entries.map((e) => e[1]);
  }

  pick(sessionKey: string, usable: Usable): LiveDeployment | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const start = lowerBound(this.points, hash32(sessionKey)) % n;
    let tried: Set<LiveDeployment> | undefined;
    for (let i = 0; i < n; i++) {
      const owner = this.owners[(start + i) % n];
      if (tried?.has(owner)) continue;
      if (usable(owner)) return owner;
      (tried ??= new Set()).add(owner);
    }
    return undefined;
  }
}

/** FNV-1a over UTF-16 code units, finished with murmur3's avalanche so close strings land far apart. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function lowerBound(values: Uint32Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
