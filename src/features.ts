// The features compiled into the gateway, in stage order: limits refuse over-limit requests before
// guards spend pool work on them; observability comes last so its onComplete sees what the others noted.
import type { Feature } from './pipeline/stage.js';
import { guardsFeature } from './guards/feature.js';
import { createLimitsFeature } from './limits/feature.js';
import { createObservabilityFeature } from './observability/feature.js';
import { createMcpFeature } from './mcp/feature.js';
import { createRoutingFeature } from './routing/feature.js';

/** Fresh feature instances: each gateway in a process (tests, bench) keeps its own main-thread state. */
export function createFeatures(): Feature[] {
  return [createRoutingFeature(), createLimitsFeature(), guardsFeature, createMcpFeature(), createObservabilityFeature()];
}
