// (b) Added latency at c=1: sequential requests on one keep-alive connection per target, timed with
// hrtime. Targets take turns in small blocks so drift on a shared machine hits all of them alike.
import { RawHttpConnection, postRequest } from '../lib/raw-http.js';
import { summarizeNs, type LatencySummary } from '../lib/stats.js';
import type { Target } from '../lib/targets.js';
import { chatBody, chatPath, clientHeaders } from './requests.js';

export interface SequentialResult extends LatencySummary {
  target: string;
  non2xx: number;
}

export interface SequentialOptions {
  requests: number;
  warmup: number;
  blockSize: number;
}

export async function runSequential(targets: readonly Target[], opts: SequentialOptions): Promise<SequentialResult[]> {
  const lanes = await Promise.all(
    targets.map(async (target) => ({
      target,
      connection: await RawHttpConnection.open(target.port),
      request: postRequest(target.port, chatPath, chatBody, clientHeaders),
      samples: [] as number[],
      non2xx: 0,
    })),
  );
  try {
    for (const lane of lanes) {
      for (let i = 0; i < opts.warmup; i++) await lane.connection.send(lane.request, false);
    }
    for (let done = 0; done < opts.requests; done += opts.blockSize) {
      for (const lane of lanes) {
        for (let i = 0; i < opts.blockSize; i++) {
          const timing = await lane.connection.send(lane.request, false);
          if (timing.status < 200 || timing.status > 299) lane.non2xx++;
          lane.samples.push(timing.totalNs);
        }
      }
    }
  } finally {
    for (const lane of lanes) lane.connection.close();
  }
  return lanes.map((lane) => ({ target: lane.target.name, non2xx: lane.non2xx, ...summarizeNs(lane.samples) }));
}
