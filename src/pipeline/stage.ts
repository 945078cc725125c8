// The contract between the request handler and every stage/feature (auth, limits, guards, metrics, audit).
import type { RequestContext } from './context.js';
import type { SwitchyardConfig } from '../config/types.js';
import type { HeaderList, IncomingHead, Reply, RequestHandler } from '../server/http.js';
import type { GatewayError } from '../shared/errors.js';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';

/** One SSE event of a streamed completion. `json` is the parsed data (undefined for "[DONE]"). */
export interface ChunkEvent {
  data: string;
  json: Record<string, unknown> | undefined;
}

/**
 * Sees the response on its way back. Observers (mutates=false) leave the client's bytes exactly
 * as the upstream sent them; a mutating filter makes the relay re-serialise the events it returns.
 */
export interface ResponseFilter {
  readonly mutates: boolean;
  /** Streams: every upstream event in order. Return the events to pass on (the same one, others, or none). */
  onEvent?(event: ChunkEvent): ChunkEvent | ChunkEvent[] | null;
  /** Streams: upstream finished; return anything held back. */
  onEnd?(): ChunkEvent[] | void;
  /** Non-streamed responses: the parsed body; return a replacement to change it. */
  onBody?(body: Record<string, unknown>): Record<string, unknown> | void;
}

export interface Stage {
  readonly name: string;
  /**
   * 'auth' stages run before the model is looked up (so a caller without a valid key learns nothing
   * about models); 'request' stages (the default) run after it, when ctx.deployment is set.
   */
  readonly phase?: 'auth' | 'request';
  /**
   * 'auth' stages only: refuses a request from its head alone, before its body is read (the body is
   * then dropped unparsed and onRequest never runs for it). Runs for every API request: keep it cheap.
   */
  onHead?(head: IncomingHead): GatewayError | undefined;
  /** Before the request goes upstream. Throw a GatewayError to refuse it. Return a promise only when there is real async work. */
  onRequest?(ctx: RequestContext): void | Promise<void>;
  /** The request is being sent upstream (once per attempt). */
  onUpstreamStart?(ctx: RequestContext): void;
  /** The first content token arrived (streams) or the whole body did (non-stream). */
  onFirstToken?(ctx: RequestContext): void;
  /** A filter for this response, or undefined to leave it alone. */
  responseFilter?(ctx: RequestContext): ResponseFilter | undefined;
  /**
   * After the response ended in any way (ok, error, client abort). Called on every stage, also
   * those whose onRequest never ran (an earlier stage refused): keep per-request state in ctx.state
   * and check it. Must not throw.
   */
  onComplete?(ctx: RequestContext): void;
  /**
   * Public endpoints this feature serves itself (e.g. /mcp): a request whose path is a prefix or lies
   * under one (`prefix/...`) goes to its handler instead of the LLM pipeline. The head screen has run.
   */
  readonly routes?: readonly PublicRoute[];
}

export interface PublicRoute {
  /** Path prefix without a trailing slash, e.g. '/mcp'. */
  readonly prefix: string;
  readonly handle: RequestHandler;
}

/** Typed messages between the main thread and server threads. */
export interface ThreadHost {
  readonly threadIndex: number;
  readonly threadCount: number;
  /** Sends a message to the main thread. */
  /** `transfer`: ArrayBuffers handed over instead of copied (unusable here afterwards). */
  send(type: string, payload: unknown, transfer?: ArrayBuffer[]): void;
  /** Handles a message (or request) from the main thread; a returned value answers a request. */
  on(type: string, handler: (payload: unknown) => unknown | Promise<unknown>): void;
}

export interface AdminRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Readonly<Record<string, string>>;
  /** Parsed JSON body (undefined when empty). Invalid JSON is refused before the route runs. */
  body: unknown;
  /** Who is asking: the admin token's name (or 'public' on a public route), and whether it may only read. */
  actor: AdminActor;
}

export interface AdminActor {
  readonly name: string;
  readonly readOnly: boolean;
}

export interface AdminResponse {
  status: number;
  body: unknown;
  /** Sent as-is instead of JSON (e.g. Prometheus text). */
  text?: string;
  /** Bytes sent as-is instead of JSON (e.g. a UI asset); `text` wins when both are set. */
  raw?: Uint8Array;
  contentType?: string;
  /** Extra response headers (e.g. set-cookie, cache-control). */
  headers?: HeaderList;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  /**
   * Path with :params, e.g. /admin/keys/:id; a last segment `*` matches the rest of the path
   * (also nothing), given as params['*'], e.g. /ui/*.
   */
  path: string;
  /** Routes like /metrics may be served without the admin token when configured. */
  public?: boolean;
  handle(req: AdminRequest): AdminResponse | Promise<AdminResponse>;
  /**
   * The streaming form: when present, the admin server calls it instead of `handle` and the route
   * answers on `reply` itself (start/write/onDrain/end), e.g. the Playground's SSE proxy. A GatewayError
   * thrown before the route has started its answer is sent as usual. `handle` stays the buffered form for
   * hosts that cannot stream (tests).
   */
  stream?(req: AdminRequest, reply: Reply): void | Promise<void>;
}

export interface MainHost {
  readonly dataDir: string;
  /** Sends a message to every server thread. */
  broadcast(type: string, payload: unknown): void;
  /** Asks every server thread and collects their answers. */
  gather(type: string, payload: unknown): Promise<unknown[]>;
  /** Handles messages sent by server threads. */
  on(type: string, handler: (payload: unknown, threadIndex: number) => void): void;
  addAdminRoute(route: AdminRoute): void;
  /** Main-thread metric registries merged into /metrics with the server threads' (optional for hosts built by tests). */
  readonly metricRegistries?: Registry[];
  /**
   * Random per process: a request to the public listener bearing it runs as the Playground (the admin
   * console proxies to 127.0.0.1 with it). It never leaves the process (absent in hosts built by tests).
   */
  readonly playgroundToken?: string;
  /** What one feature offers the main-thread parts of others (filled in by their initMain). */
  services?: MainServices;
}

/** Main-thread services features provide each other; each is optional, set by its owner's initMain. */
export interface MainServices {
  /** The merged metrics of every thread and main-thread registry, as prom-client's getMetricsAsJSON. */
  metricsJson?: () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** A virtual key as the Playground needs it (set by the limits feature); undefined for an unknown id. */
  keyView?: (id: string) => PlaygroundKeyView | undefined;
}

export interface PlaygroundKeyView {
  readonly id: string;
  readonly name: string;
  /** The models the key may use; null = every model. */
  readonly models: readonly string[] | null;
  readonly revoked: boolean;
}

/**
 * A feature plugs into the gateway at three points: once on the main thread (shared state,
 * admin routes), once per server thread (its Stage), and at shutdown; optionally at a config reload.
 */
export interface Feature {
  readonly name: string;
  /** Whether this feature reads ctx.head.remoteAddress with this config (it is not read otherwise). */
  needsClientAddress?(config: SwitchyardConfig): boolean;
  /** Checks beyond the JSON Schema (e.g. that patterns compile); each problem names its config path. */
  validate?(config: SwitchyardConfig): string[];
  /** Main thread. The returned value is passed to every server thread (SharedArrayBuffers are shared, the rest cloned). */
  initMain?(config: SwitchyardConfig, host: MainHost): unknown | Promise<unknown>;
  /**
   * Main thread: the shared value for a server thread started later (a replacement for a failed
   * one), when what initMain returned has gone stale (e.g. keys created since). Defaults to that.
   */
  sharedForNewThread?(): unknown;
  /** Server thread. */
  initThread?(config: SwitchyardConfig, shared: unknown, host: ThreadHost): Stage[] | Promise<Stage[]>;
  /**
   * Main thread, on a config reload (src/config/reload.ts) that passed validation: adopt `config` and
   * return the new shared value for the server threads. Without this hook the feature keeps its state,
   * and a reload that changes its config sections is refused as needing a restart. A throw refuses it.
   */
  reloadMain?(config: SwitchyardConfig, host: MainHost): unknown | Promise<unknown>;
  /**
   * Main thread: the reload that reloadMain was last called for did not go ahead (a later feature or a
   * server thread refused it): go back to exactly the state before it. Without this hook reloadMain is
   * called again with the running config.
   */
  abortMain?(host: MainHost): void | Promise<void>;
  /**
   * Server thread, on a reload: this feature's stages for the new config (`shared`: what reloadMain
   * returned, else the value it had; `current`: its stages serving now, to return as they are when
   * nothing they depend on changed). Requests already in flight keep the old stages. Without this hook
   * its stages stay as they are. Having it (or reloadMain) lets a reload change the feature's sections.
   */
  reloadThread?(config: SwitchyardConfig, shared: unknown, host: ThreadHost, current: readonly Stage[]): readonly Stage[] | Promise<readonly Stage[]>;
  /** Server thread: stages a reload replaced (or built and then abandoned), once no request uses them. */
  retireThread?(stages: readonly Stage[]): void | Promise<void>;
  /** Server thread, while draining at shutdown (flush buffers, close pools). */
  closeThread?(): void | Promise<void>;
  /** Main thread, after every server thread has drained. */
  closeMain?(): void | Promise<void>;
}
