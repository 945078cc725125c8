// The uWebSockets.js builds Switchyard may run on, in the order it tries them, and the choice among them.
// uWS is not published on npm by its authors; each build here is a republished binary set installed
// under an npm alias (package.json), and each ships binaries for some Node ABIs and needs some glibc.

export interface UwsBuild {
  /** The name package.json installs it under (an npm alias). */
  readonly alias: string;
  /** The registry package the alias points at, and the version pinned there. */
  readonly registryPackage: string;
  readonly version: string;
  /** The uWebSockets.js release its binaries were built from. */
  readonly upstream: string;
  /** Who publishes it on npm. */
  readonly publisher: string;
  /** The native binary's path inside the package, or the folder that holds the binaries. */
  readonly binaryDir: string;
  /** The newest glibc symbol version its Linux x64 binaries need (objdump -T), for the error's hint. */
  readonly linuxGlibc: string;
  /** Variables the binary reads from the environment when it loads, set unless the operator set them. */
  readonly environment?: Readonly<Record<string, string>>;
}

/** Tried first to last; the first whose binary loads serves. */
export const uwsBuilds: readonly UwsBuild[] = [
  {
    alias: 'uWebSockets.js',
    registryPackage: '@trufflesuite/uws-js-unofficial',
    version: '20.30.0-unofficial.0',
    upstream: 'v20.30.0',
    publisher: 'Truffle (ConsenSys)',
    binaryDir: 'binaries',
    linuxGlibc: '2.27',
  },
  {
    alias: 'uws-btc-vision',
    registryPackage: '@btc-vision/uwebsockets.js',
    version: '20.57.0',
    upstream: 'v20.57.0',
    publisher: 'btc-vision (OP_NET)',
    binaryDir: '.',
    linuxGlibc: '2.38',
    // Its parser answers heads over this (4 KiB by default) itself, with an HTML 431; above
    // server.max_head_bytes (16 KiB by default) Switchyard answers them in the OpenAI shape instead.
    environment: { UWS_HTTP_MAX_HEADERS_SIZE: String(128 * 1024) },
  },
];

/** The runtime a build must fit: process.platform, process.arch, process.versions.modules, the C library. */
export interface UwsTarget {
  readonly platform: string;
  readonly arch: string;
  readonly abi: string;
  readonly nodeVersion: string;
  /** glibc version at run time; undefined on musl, macOS, Windows. */
  readonly glibc: string | undefined;
}

/** What choosing needs from the file system and the module loader (real ones in uws.ts, fakes in tests). */
export interface UwsProbe<M> {
  /** The installed package's folder and version, or undefined when it is not installed. */
  locate(alias: string): { dir: string; version: string } | undefined;
  /** File names in a folder ([] when it does not exist). */
  list(dir: string): readonly string[];
  /** Loads a native binary of `build` (after setting its `environment`); throws what the loader threw. */
  load(path: string, build: UwsBuild): M;
  /** The loaded module is the native build (not a pure-JS stand-in). */
  isNative(module: M): boolean;
}

export type UwsAttempt =
  | { readonly build: UwsBuild; readonly outcome: 'loaded'; readonly version: string; readonly path: string }
  | { readonly build: UwsBuild; readonly outcome: 'not-installed' | 'no-binary' | 'load-failed' | 'not-native'; readonly reason: string };

export type UwsChoice<M> =
  | { readonly ok: true; readonly module: M; readonly build: UwsBuild; readonly version: string; readonly attempts: readonly UwsAttempt[] }
  | { readonly ok: false; readonly attempts: readonly UwsAttempt[] };

/** Node major version of each module ABI the builds above ship (nodejs.org/en/download/releases). */
const nodeOfAbi: Readonly<Record<string, string>> = { 93: '16', 108: '18', 115: '20', 120: '21', 127: '22', 131: '23', 137: '24', 141: '25' };
const abiText = (abi: string) => (nodeOfAbi[abi] ? `${abi} (Node ${nodeOfAbi[abi]})` : abi);

export const binaryName = (target: UwsTarget) => `uws_${target.platform}_${target.arch}_${target.abi}.node`;

/** The first line of a loader error, which names the missing file or symbol version. */
const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n').find((line) => line.trim() !== '') ?? 'unknown error';

/** Tries each build in order; pure apart from what `probe` does. `only` restricts the choice to one alias. */
export function chooseUws<M>(builds: readonly UwsBuild[], target: UwsTarget, probe: UwsProbe<M>, only?: string): UwsChoice<M> {
  const attempts: UwsAttempt[] = [];
  for (const build of builds) {
    if (only !== undefined && build.alias !== only) continue;
    const installed = probe.locate(build.alias);
    if (installed === undefined) {
      attempts.push({ build, outcome: 'not-installed', reason: `not installed (npm did not install the ${optionalOrNot(build, builds)} dependency "${build.alias}")` });
      continue;
    }
    const dir = joinPath(installed.dir, build.binaryDir);
    const name = binaryName(target);
    const files = probe.list(dir);
    if (!files.includes(name)) {
      const shipped = abisFor(files, target);
      attempts.push({
        build,
        outcome: 'no-binary',
        reason:
          `${installed.version} has no binary for Node ABI ${abiText(target.abi)} on ${target.platform}-${target.arch}` +
          (shipped.length > 0 ? `; it ships ABIs ${shipped.map(abiText).join(', ')}` : `; it ships none for ${target.platform}-${target.arch}`),
      });
      continue;
    }
    const path = joinPath(dir, name);
    let module: M;
    try {
      module = probe.load(path, build);
    } catch (err) {
      attempts.push({ build, outcome: 'load-failed', reason: `${installed.version}: ${name} did not load: ${firstLine(err)}${glibcHint(err, build, target)}` });
      continue;
    }
    if (!probe.isNative(module)) {
      attempts.push({ build, outcome: 'not-native', reason: `${installed.version}: ${name} loaded but is not the native server` });
      continue;
    }
    attempts.push({ build, outcome: 'loaded', version: installed.version, path });
    return { ok: true, module, build, version: installed.version, attempts };
  }
  return { ok: false, attempts };
}

/** The start-up error: the runtime, then every build tried and why it did not serve. */
export function describeFailure(target: UwsTarget, attempts: readonly UwsAttempt[], only?: string): string {
  const runtime = `Node ${target.nodeVersion} (ABI ${target.abi}) on ${target.platform}-${target.arch}${target.glibc ? `, glibc ${target.glibc}` : ''}`;
  const lines = attempts.map(
    (a, i) => `  ${i + 1}. ${a.build.alias} (${a.build.registryPackage}, uWS ${a.build.upstream}, published by ${a.build.publisher}): ${a.outcome === 'loaded' ? 'loaded' : a.reason}`,
  );
  if (only !== undefined && attempts.length === 0) lines.push(`  SWITCHYARD_UWS_BUILD=${only} names no build; known: ${uwsBuilds.map((b) => b.alias).join(', ')}`);
  return (
    `No uWebSockets.js build loads on ${runtime}. Tried, in order:\n${lines.join('\n')}\n` +
    'Switchyard runs on Node 20 (any glibc Node 20 runs on), and on Node 22 or 24 with glibc >= 2.38 (Debian 13, Ubuntu 24.04, RHEL 10); ' +
    'see docs/operations.md, "Node.js and platform support".'
  );
}

function optionalOrNot(build: UwsBuild, builds: readonly UwsBuild[]): string {
  return builds[0] === build ? 'required' : 'optional';
}

function abisFor(files: readonly string[], target: UwsTarget): string[] {
  const prefix = `uws_${target.platform}_${target.arch}_`;
  return files
    .filter((f) => f.startsWith(prefix) && f.endsWith('.node'))
    .map((f) => f.slice(prefix.length, -'.node'.length))
    .filter((abi) => /^\d+$/.test(abi))
    .sort((a, b) => Number(a) - Number(b));
}

function glibcHint(err: unknown, build: UwsBuild, target: UwsTarget): string {
  const wanted = /GLIBC_(\d+(?:\.\d+)+)'? not found/.exec(String((err as Error)?.message ?? err))?.[1];
  if (wanted === undefined) return '';
  return ` (this build needs glibc >= ${maxVersion(wanted, build.linuxGlibc)}; this system has ${target.glibc ?? 'another C library'})`;
}

function maxVersion(a: string, b: string): string {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d > 0 ? a : b;
  }
  return a;
}

/** Joins with '/', which every platform's loader accepts; '.' is the folder itself. */
function joinPath(dir: string, rest: string): string {
  if (rest === '.' || rest === '') return dir;
  return `${dir.replace(/[\\/]+$/, '')}/${rest}`;
}
