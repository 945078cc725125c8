// Which uWebSockets.js build serves: the first in the stated order whose binary exists for this Node ABI
// and loads; when none does, the error names each build and why. Needs no uWS binary except the last
// suite, which checks the installed packages and, on a runtime a build serves, the real load.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { binaryName, chooseUws, describeFailure, uwsBuilds, type UwsProbe, type UwsTarget } from '../../src/server/uws-candidates.js';

const node20: UwsTarget = { platform: 'linux', arch: 'x64', abi: '115', nodeVersion: 'v20.20.2', glibc: '2.36' };
const node22: UwsTarget = { platform: 'linux', arch: 'x64', abi: '127', nodeVersion: 'v22.23.3', glibc: '2.36' };
const node24: UwsTarget = { platform: 'linux', arch: 'x64', abi: '137', nodeVersion: 'v24.21.0', glibc: '2.41' };

/** What the two packages hold for linux-x64 (their real file lists, trimmed to that platform). */
const shipped: Record<string, { dir: string; version: string; files: string[] }> = {
  'uWebSockets.js': {
    dir: '/app/node_modules/uWebSockets.js',
    version: '20.30.0-unofficial.0',
    files: ['uws_linux_x64_93.node', 'uws_linux_x64_108.node', 'uws_linux_x64_115.node', 'uws_darwin_arm64_115.node'],
  },
  'uws-btc-vision': {
    dir: '/app/node_modules/uws-btc-vision',
    version: '20.57.0',
    files: ['uws_linux_x64_115.node', 'uws_linux_x64_127.node', 'uws_linux_x64_137.node', 'uws_linux_x64_141.node', 'uws.js'],
  },
};

/** The loader's message on glibc 2.36 for a binary built against 2.38, as Node 22 prints it here. */
const glibcError = (path: string) =>
  new Error(`/lib/x86_64-linux-gnu/libc.so.6: version \`GLIBC_2.38' not found (required by ${path})`);

interface FakeModule {
  native: boolean;
  path: string;
}

/** A probe over `installed`; `loads(path)` decides whether a binary loads, and what it is. */
function fakeProbe(installed: typeof shipped, loads: (path: string) => FakeModule | Error): UwsProbe<FakeModule> & { loaded: string[] } {
  const loaded: string[] = [];
  return {
    loaded,
    locate: (alias) => installed[alias] && { dir: installed[alias].dir, version: installed[alias].version },
    list: (dir) => Object.values(installed).find((p) => dir === p.dir || dir === `${p.dir}/binaries`)?.files ?? [],
    load(path) {
      loaded.push(path);
      const result = loads(path);
      if (result instanceof Error) throw result;
      return result;
    },
    isNative: (m) => m.native,
  };
}

const nativeAt = (path: string): FakeModule => ({ native: true, path });

describe('the build order', () => {
  test('is the Truffle build, then the btc-vision build, each under its own alias', () => {
    assert.deepEqual(
      uwsBuilds.map((b) => [b.alias, b.registryPackage, b.version]),
      [
        ['uWebSockets.js', '@trufflesuite/uws-js-unofficial', '20.30.0-unofficial.0'],
        ['uws-btc-vision', '@btc-vision/uwebsockets.js', '20.57.0'],
      ],
    );
  });
});

describe('chooseUws', () => {
  test('Node 20: the first build has the binary and serves; the second is never loaded', () => {
    const probe = fakeProbe(shipped, nativeAt);
    const choice = chooseUws(uwsBuilds, node20, probe);
    assert.equal(choice.ok, true);
    if (!choice.ok) return;
    assert.equal(choice.build.alias, 'uWebSockets.js');
    assert.equal(choice.version, '20.30.0-unofficial.0');
    assert.equal(choice.module.path, '/app/node_modules/uWebSockets.js/binaries/uws_linux_x64_115.node');
    assert.deepEqual(probe.loaded, ['/app/node_modules/uWebSockets.js/binaries/uws_linux_x64_115.node']);
    assert.deepEqual(choice.attempts.map((a) => a.outcome), ['loaded']);
  });

  test('Node 24 with glibc 2.41: the first build has no binary for ABI 137, the second serves', () => {
    const probe = fakeProbe(shipped, nativeAt);
    const choice = chooseUws(uwsBuilds, node24, probe);
    assert.equal(choice.ok, true);
    if (!choice.ok) return;
    assert.equal(choice.build.alias, 'uws-btc-vision');
    assert.deepEqual(probe.loaded, ['/app/node_modules/uws-btc-vision/uws_linux_x64_137.node']);
    const [first] = choice.attempts;
    assert.equal(first.outcome, 'no-binary');
    assert.equal(
      first.reason,
      '20.30.0-unofficial.0 has no binary for Node ABI 137 (Node 24) on linux-x64; it ships ABIs 93 (Node 16), 108 (Node 18), 115 (Node 20)',
    );
  });

  test('Node 22 with glibc 2.36: no build serves, and the error names each one, in order, with its reason', () => {
    const probe = fakeProbe(shipped, (path) => (path.includes('uws-btc-vision') ? glibcError(path) : nativeAt(path)));
    const choice = chooseUws(uwsBuilds, node22, probe);
    assert.equal(choice.ok, false);
    assert.deepEqual(
      choice.attempts.map((a) => [a.build.alias, a.outcome]),
      [
        ['uWebSockets.js', 'no-binary'],
        ['uws-btc-vision', 'load-failed'],
      ],
    );
    const message = describeFailure(node22, choice.attempts);
    const lines = message.split('\n');
    assert.equal(lines[0], 'No uWebSockets.js build loads on Node v22.23.3 (ABI 127) on linux-x64, glibc 2.36. Tried, in order:');
    assert.match(lines[1], /^ {2}1\. uWebSockets\.js \(@trufflesuite\/uws-js-unofficial, uWS v20\.30\.0, published by Truffle \(ConsenSys\)\): 20\.30\.0-unofficial\.0 has no binary for Node ABI 127 \(Node 22\)/);
    assert.match(lines[2], /^ {2}2\. uws-btc-vision \(@btc-vision\/uwebsockets\.js, uWS v20\.57\.0, published by btc-vision \(OP_NET\)\): 20\.57\.0: uws_linux_x64_127\.node did not load: /);
    assert.match(lines[2], /GLIBC_2\.38' not found/);
    assert.match(lines[2], /\(this build needs glibc >= 2\.38; this system has 2\.36\)$/);
    assert.match(message, /docs\/operations\.md, "Node\.js and platform support"/);
  });

  test('an optional build npm did not install is reported as such, and the next one is tried', () => {
    const { 'uWebSockets.js': truffle } = shipped;
    const probe = fakeProbe({ 'uWebSockets.js': truffle }, nativeAt);
    const choice = chooseUws(uwsBuilds, node24, probe);
    assert.equal(choice.ok, false);
    const second = choice.attempts[1];
    assert.equal(second.outcome, 'not-installed');
    assert.match(second.reason, /optional dependency "uws-btc-vision"/);
  });

  test('a binary that loads as something other than the native server is refused, and the next build serves', () => {
    const probe = fakeProbe(shipped, (path) => ({ native: !path.includes('/binaries/'), path }));
    const choice = chooseUws(uwsBuilds, node20, probe);
    assert.equal(choice.ok, true);
    if (!choice.ok) return;
    assert.equal(choice.build.alias, 'uws-btc-vision');
    assert.deepEqual(choice.attempts.map((a) => a.outcome), ['not-native', 'loaded']);
  });

  test('a loader error without a glibc version gets no glibc hint', () => {
    const probe = fakeProbe(shipped, (path) => new Error(`${path}: invalid ELF header`));
    const choice = chooseUws(uwsBuilds, node20, probe);
    assert.equal(choice.ok, false);
    for (const attempt of choice.attempts) {
      assert.equal(attempt.outcome, 'load-failed');
      assert.match(attempt.reason, /invalid ELF header$/);
    }
  });

  test('SWITCHYARD_UWS_BUILD-style restriction: only the named build is tried; an unknown name says which exist', () => {
    const probe = fakeProbe(shipped, nativeAt);
    const choice = chooseUws(uwsBuilds, node20, probe, 'uws-btc-vision');
    assert.equal(choice.ok, true);
    if (choice.ok) assert.equal(choice.build.alias, 'uws-btc-vision');

    const none = chooseUws(uwsBuilds, node20, probe, 'uws-nope');
    assert.equal(none.ok, false);
    assert.deepEqual(none.attempts, []);
    assert.match(describeFailure(node20, none.attempts, 'uws-nope'), /SWITCHYARD_UWS_BUILD=uws-nope names no build; known: uWebSockets\.js, uws-btc-vision/);
  });

  test('a build whose parser limits heads itself is told to leave heads up to the default max_head_bytes to Switchyard', () => {
    const defaultMaxHeadBytes = 16 * 1024;
    for (const build of uwsBuilds) {
      const limit = build.environment?.UWS_HTTP_MAX_HEADERS_SIZE;
      if (limit !== undefined) assert.ok(Number(limit) > defaultMaxHeadBytes, `${build.alias}: ${limit}`);
    }
    assert.ok(uwsBuilds.some((b) => b.environment?.UWS_HTTP_MAX_HEADERS_SIZE !== undefined));
  });

  test('the binary name is the one both packages use', () => {
    assert.equal(binaryName(node22), 'uws_linux_x64_127.node');
    assert.equal(binaryName({ ...node20, platform: 'darwin', arch: 'arm64' }), 'uws_darwin_arm64_115.node');
  });
});

describe('the installed packages', () => {
  test('hold the binaries the order relies on: ABI 115 in the first build, 115, 127 and 137 in the second', async () => {
    // The real file lists, no binary loaded: so this runs on any Node version.
    const { nodeProbe } = await import('../../src/server/uws.js');
    const layout = uwsBuilds.map((build) => {
      const installed = nodeProbe.locate(build.alias);
      assert.ok(installed, `${build.alias} is not installed`);
      assert.equal(installed.version, build.version, `${build.alias}: installed version differs from the one the table describes`);
      const dir = build.binaryDir === '.' ? installed.dir : `${installed.dir}/${build.binaryDir}`;
      const files = nodeProbe.list(dir);
      return ['115', '127', '137'].filter((abi) => files.includes(binaryName({ ...node20, abi })));
    });
    assert.deepEqual(layout, [['115'], ['115', '127', '137']]);
  });

  test('on this runtime the first build that fits is the one loadUws serves, or loadUws names why none does', async () => {
    const { loadUws, uwsBuildInUse } = await import('../../src/server/uws.js');
    const served = (() => {
      try {
        loadUws();
        return uwsBuildInUse()?.alias;
      } catch (err) {
        return (err as Error).message;
      }
    })();
    const only = process.env.SWITCHYARD_UWS_BUILD;
    if (only) assert.equal(served, only, 'SWITCHYARD_UWS_BUILD names the build that must serve');
    else if (process.versions.modules === '115') assert.equal(served, 'uWebSockets.js');
    else if (served?.startsWith('No uWebSockets.js build loads')) {
      // e.g. Node 22 on glibc < 2.38: every build is named with its reason.
      for (const build of uwsBuilds) assert.ok(served.includes(`${build.alias} (${build.registryPackage}`), served);
    } else assert.equal(served, 'uws-btc-vision');
  });
});
