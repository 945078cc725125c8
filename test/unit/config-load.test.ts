// Config loading: defaults filled by the schema, ${ENV} interpolation, every problem reported with its path, route compilation.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { compileRoutes } from '../../src/config/compile.js';
import { ConfigError, defaultConfigPath, loadConfig, parseConfig, substituteEnv } from '../../src/config/load.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/config/', import.meta.url));

const minimal = `
providers:
  - name: up
    base_url: http://127.0.0.1:9000/v1
models:
  - name: m
    provider: up
`;

/** The problems parseConfig reports for `text`, or fails if it accepts it. */
function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `not a ConfigError: ${(err as Error).message}`);
    assert.equal(err.source, 'test.yaml');
    assert.match(err.message, /test\.yaml: invalid configuration/);
    return err.problems;
  }
  assert.fail('the config was accepted');
}

describe('parseConfig defaults', () => {
  test('a minimal config gets every documented default', () => {
    const config = parseConfig(minimal, 'test', {});
    assert.deepEqual(config.server, {
      host: '0.0.0.0',
      port: 8080,
      threads: 'auto',
      max_body_bytes: 16 * 1024 * 1024,
      max_head_bytes: 16 * 1024,
      max_buffered_upstream_bytes: 256 * 1024 * 1024,
      drain_timeout_ms: 30000,
    });
    assert.deepEqual(config.admin, { enabled: true, host: '127.0.0.1', port: 8081, tokens: [], ui: true });
    assert.equal(config.data_dir, './data');
    assert.deepEqual(config.config_store, { backend: 'file', url: 'postgres://127.0.0.1:5432/switchyard', table: 'switchyard_config', poll_ms: 1000 });
    assert.deepEqual(config.simulator, { enabled: false, host: '127.0.0.1', port: 9090 });
    const provider = config.providers[0];
    assert.equal(provider.type, 'openai');
    assert.equal(provider.connections, 256);
    assert.deepEqual(provider.timeouts, { connect_ms: 5000, first_byte_ms: 120000, idle_ms: 60000, total_ms: 600000 });
    assert.equal(config.models[0].model, undefined);
  });

  test('given values win over defaults, partially given sections are completed', () => {
    const config = parseConfig(
      `${minimal}server:\n  port: 0\n  threads: 3\n`.replace(
        'base_url: http://127.0.0.1:9000/v1',
        'base_url: http://127.0.0.1:9000/v1\n    timeouts: { idle_ms: 50 }',
      ),
      'test',
      {},
    );
    assert.equal(config.server.port, 0);
    assert.equal(config.server.threads, 3);
    assert.equal(config.server.max_body_bytes, 16 * 1024 * 1024);
    assert.deepEqual(config.providers[0].timeouts, { connect_ms: 5000, first_byte_ms: 120000, idle_ms: 50, total_ms: 600000 });
  });

  test('JSON text is YAML too (the test helpers build configs as objects)', () => {
    const config = parseConfig(JSON.stringify({ providers: [{ name: 'p', base_url: 'https://x.example/v1' }], models: [{ name: 'a', provider: 'p' }] }), 'j', {});
    assert.equal(config.providers[0].base_url, 'https://x.example/v1');
  });
});

describe('${ENV} interpolation', () => {
  test('${VAR} and ${VAR:-fallback}', () => {
    const missing: string[] = [];
    assert.equal(substituteEnv('a ${X} b ${Y:-why} c ${Z:-}', { X: 'ex', Y: undefined }, 'k', missing), 'a ex b why c ');
    assert.deepEqual(missing, []);
  });

  test('a set variable beats its fallback; an empty one takes the fallback', () => {
    const missing: string[] = [];
    assert.equal(substituteEnv('${A:-x}/${B:-y}', { A: 'set', B: '' }, 'k', missing), 'set/y');
  });

  test('a missing variable without fallback is recorded by name and path', () => {
    const missing: string[] = [];
    substituteEnv({ providers: [{ api_key: '${NOPE_NOT_SET}' }] }, {}, '', missing);
    assert.equal(missing.length, 1);
    assert.match(missing[0], /NOPE_NOT_SET/);
    assert.match(missing[0], /^providers\.0\.api_key: /);
  });

  test('a substituted value cannot change the YAML structure', () => {
    const missing: string[] = [];
    const out = substituteEnv({ a: 'x ${V}', b: '${V}' }, { V: 'y\nc: injected' }, '', missing) as Record<string, unknown>;
    assert.deepEqual(out, { a: 'x y\nc: injected', b: 'y\nc: injected' });
  });

  test('in a config: the port becomes a number, the key a string', () => {
    const text = minimal.replace('http://127.0.0.1:9000/v1', 'http://127.0.0.1:${SIM_PORT:-9000}/v1') + 'server:\n  port: ${PORT:-8080}\n';
    const config = parseConfig(text.replace('    provider: up', '    provider: up\n    model: ${UPSTREAM_MODEL}'), 't', {
      PORT: '1234',
      UPSTREAM_MODEL: 'gpt-x',
    });
    assert.equal(config.server.port, 1234);
    assert.equal(config.providers[0].base_url, 'http://127.0.0.1:9000/v1');
    assert.equal(config.models[0].model, 'gpt-x');
  });

  test('a missing variable fails the config', () => {
    const problems = problemsOf(minimal.replace('    provider: up', '    provider: up\n    model: "${UPSTREAM_MODEL_UNSET}"'));
    assert.ok(problems.some((p) => p.includes('UPSTREAM_MODEL_UNSET')), problems.join('\n'));
  });
});

describe('errors with paths', () => {
  test('unknown key, with its parent path', () => {
    assert.deepEqual(problemsOf(`${minimal}server:\n  colour: blue\n`), ["server: unknown key 'colour'"]);
    assert.deepEqual(problemsOf(`${minimal}colour: blue\n`), ["(top level): unknown key 'colour'"]);
  });

  test('wrong type and out of range, with the full path into arrays', () => {
    const problems = problemsOf(
      minimal.replace('base_url: http://127.0.0.1:9000/v1', 'base_url: http://127.0.0.1:9000/v1\n    timeouts: { idle_ms: 0, total_ms: soon }'),
    );
    assert.ok(problems.includes('providers.0.timeouts.idle_ms: must be >= 1'), problems.join('\n'));
    assert.ok(problems.includes('providers.0.timeouts.total_ms: must be integer'), problems.join('\n'));
  });

  test('enum values are listed', () => {
    const problems = problemsOf(minimal.replace('  - name: up', '  - name: up\n    type: anthropic-v0'));
    assert.ok(problems.some((p) => p.startsWith('providers.0.type: must be one of') && p.includes('"openai"')), problems.join('\n'));
  });

  test('missing required sections and fields', () => {
    assert.ok(problemsOf('server: {}\n').some((p) => p.includes('providers')));
    const problems = problemsOf('providers:\n  - name: up\nmodels:\n  - name: m\n    provider: up\n');
    assert.ok(problems.some((p) => p.startsWith('providers.0') && p.includes('base_url')), problems.join('\n'));
  });

  test('unknown provider reference and duplicates', () => {
    assert.deepEqual(problemsOf(minimal.replace('provider: up', 'provider: nobody')), ["models.0.provider: unknown provider 'nobody'"]);
    const duplicated = `${minimal}  - name: m\n    provider: up\n`;
    assert.deepEqual(problemsOf(duplicated), ["models.1.name: duplicate model 'm'"]);
  });

  test('YAML syntax errors are reported, not thrown raw', () => {
    const problems = problemsOf('providers: [\n  - name: up\n');
    assert.ok(problems.length > 0 && problems[0].startsWith('YAML syntax'), problems.join('\n'));
  });

  test('every problem at once: schema errors do not hide reference errors', () => {
    const problems = problemsOf(`${minimal.replace('provider: up', 'provider: nobody')}server:\n  port: nope\n`);
    assert.ok(problems.includes('server.port: must be integer'), problems.join('\n'));
    assert.ok(problems.includes("models.0.provider: unknown provider 'nobody'"), `unknown provider not reported:\n${problems.join('\n')}`);
  });
});

describe('loadConfig', () => {
  test('the embedded default loads and uses the simulator', () => {
    const config = loadConfig(defaultConfigPath, {});
    assert.equal(config.server.port, 8080);
    assert.equal(config.simulator.enabled, true);
    assert.ok(config.models.some((m) => m.name === 'fast' && m.model === 'sim-fast'));
  });

  test('each bad fixture is refused with its problem and path', () => {
    const cases: Array<[string, string]> = [
      ['unknown-key.yaml', "server: unknown key 'colour'"],
      ['wrong-type.yaml', 'providers.0.timeouts.idle_ms: must be >= 1'],
      ['unknown-provider.yaml', "models.0.provider: unknown provider 'nobody'"],
      ['missing-env.yaml', 'SWITCHYARD_TEST_UNSET_VARIABLE'],
    ];
    for (const [file, expected] of cases) {
      assert.throws(
        () => loadConfig(`${fixtures}${file}`, {}),
        (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.includes(expected)),
        file,
      );
    }
  });

  test('a fixture file, and a file that does not exist', () => {
    assert.equal(loadConfig(`${fixtures}minimal.yaml`, {}).models[0].name, 'm');
    assert.throws(
      () => loadConfig(`${fixtures}absent.yaml`, {}),
      (err: unknown) => err instanceof ConfigError && err.problems[0].startsWith('cannot read file'),
    );
  });
});

describe('compileRoutes', () => {
  test('aliases map to their provider and upstream model; base URL split into origin and path', () => {
    const config = parseConfig(
      `
providers:
  - name: up
    base_url: http://127.0.0.1:9000/openai/v1/
  - name: other
    base_url: https://api.example.com
models:
  - name: fast
    provider: up
    model: sim-fast
  - name: plain
    provider: other
`,
      't',
      {},
    );
    const routes = compileRoutes(config);
    const fast = routes.byModel.get('fast');
    assert.ok(fast);
    assert.equal(fast.upstreamModel, 'sim-fast');
    assert.equal(fast.origin, 'http://127.0.0.1:9000');
    assert.equal(fast.basePath, '/openai/v1');
    const plain = routes.byModel.get('plain');
    assert.equal(plain?.upstreamModel, 'plain');
    assert.equal(plain?.origin, 'https://api.example.com');
    assert.equal(plain?.basePath, '');
    const list = JSON.parse(routes.modelList) as { object: string; data: Array<{ id: string; owned_by: string }> };
    assert.equal(list.object, 'list');
    assert.deepEqual(list.data.map((d) => [d.id, d.owned_by]), [['fast', 'up'], ['plain', 'other']]);
  });
});
