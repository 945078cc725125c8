// The Kubernetes manifests in deploy/kubernetes, offline: each object against the Kubernetes schemas
// (kubernetes-models: values by its JSON Schema validators, unknown fields by its TypeScript types),
// the kustomization rendered by kubectl, and the ConfigMap's config against the gateway's own checks
// and the Deployment's ports, probes, mounts and stop sequence.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { createFeatures } from '../../src/features.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const dir = join(repo, 'deploy/kubernetes');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}
interface Manifest {
  file: string;
  object: K8sObject;
}

const manifestFiles = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
const manifests: Manifest[] = manifestFiles.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
    assert.deepEqual(doc.errors, [], `${file}: YAML errors`);
    return { file, object: doc.toJS() as K8sObject };
  }),
);
const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { namespace: string; resources: string[]; images: Array<{ name: string; newName: string; newTag: string }> };

function find(kind: string, name?: string): K8sObject {
  const found = manifests.find((m) => m.object.kind === kind && (name === undefined || m.object.metadata.name === name));
  assert.ok(found, `no ${kind}${name ? ` ${name}` : ''} in deploy/kubernetes`);
  return found.object;
}

/** kubernetes-models' module for an object: `v1/ConfigMap`, `apps/v1/Deployment`, … */
const modelPath = (o: K8sObject) => `kubernetes-models/${o.apiVersion}/${o.kind}`;

describe('every manifest against the Kubernetes API schemas', () => {
  test('each object validates with kubernetes-models', async () => {
    assert.ok(manifests.length >= 8, `${manifests.length} objects`);
    for (const { file, object } of manifests) {
      const module = (await import(modelPath(object))) as Record<string, new (data: unknown) => { validate(): void }>;
      const Model = module[object.kind];
      assert.ok(Model, `${file}: kubernetes-models has no ${object.apiVersion} ${object.kind}`);
      assert.doesNotThrow(() => new Model(object).validate(), `${file}: ${object.kind} ${object.metadata.name}`);
    }
  });

  test('no object has a field the API does not know (a typo there is silently dropped by the API server)', () => {
    // The schemas allow unknown fields; the generated TypeScript types do not, as object literals.
    const sources = new Map<string, string>();
    const typed = (o: K8sObject, i: number) =>
      `import type { I${o.kind} } from '${modelPath(o)}';\nexport const object${i}: I${o.kind} = ${JSON.stringify(o, null, 1)};\n`;
    manifests.forEach(({ object }, i) => sources.set(join(dir, `__manifest_${i}.ts`), typed(object, i)));
    // A control with one misspelled field, which must be reported, so a silent checker cannot pass.
    const deployment = structuredClone(find('Deployment'));
    const container = (deployment.spec as { template: { spec: { containers: Array<Record<string, unknown>> } } }).template.spec.containers[0];
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    const control = join(dir, '__manifest_control.ts');
    sources.set(control, typed(deployment, 999));
    const options: ts.CompilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true, types: [] };
    const host = ts.createCompilerHost(options);
    const readFile = host.readFile.bind(host);
    const getSourceFile = host.getSourceFile.bind(host);
    host.fileExists = (f) => sources.has(f) || ts.sys.fileExists(f);
    host.readFile = (f) => sources.get(f) ?? readFile(f);
    host.getSourceFile = (f, version) => (sources.has(f) ? ts.createSourceFile(f, sources.get(f)!, version) : getSourceFile(f, version));
    const program = ts.createProgram([...sources.keys()], options, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ({
      file: d.file?.fileName ?? '',
      text: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }));
    const controlProblems = problems.filter((p) => p.file === control);
    assert.equal(controlProblems.length, 1, JSON.stringify(controlProblems));
    assert.match(controlProblems[0].text, /readinesProbe/);
    const manifestProblems = problems.filter((p) => p.file !== control).map((p) => `${manifests[Number(/__manifest_(\d+)/.exec(p.file)?.[1])]?.file}: ${p.text}`);
    assert.deepEqual(manifestProblems, []);
  });

  test('kubectl kustomize renders every resource into the namespace with the image set', (t) => {
    if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status !== 0) return t.skip('kubectl is not installed');
    const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const rendered = parseAllDocuments(run.stdout).map((d) => d.toJS() as K8sObject);
    const fromResources = kustomization.resources.flatMap((file) => manifests.filter((m) => m.file === file).map((m) => `${m.object.kind}/${m.object.metadata.name}`));
    assert.deepEqual(rendered.map((o) => `${o.kind}/${o.metadata.name}`).sort(), fromResources.sort());
    // Everything in the folder but the Secret example, which apply -k must never overwrite.
    assert.deepEqual(manifestFiles.filter((f) => !kustomization.resources.includes(f)), ['secret.example.yaml']);
    for (const o of rendered.filter((o) => o.kind !== 'Namespace')) assert.equal(o.metadata.namespace, kustomization.namespace, `${o.kind}/${o.metadata.name}`);
    const image = JSON.stringify(rendered.find((o) => o.kind === 'Deployment'));
    assert.ok(image.includes(`"image":"${kustomization.images[0].newName}:${kustomization.images[0].newTag}"`));
  });
});

// ---- The config in the ConfigMap, as the gateway reads it, against the Deployment ----

interface Probe {
  httpGet: { path: string; port: string };
}
interface Container {
  args: string[];
  ports: Array<{ name: string; containerPort: number }>;
  env: Array<{ name: string; value: string }>;
  envFrom: Array<{ secretRef: { name: string } }>;
  readinessProbe: Probe;
  livenessProbe: Probe;
  startupProbe: Probe;
  lifecycle: { preStop: { exec: { command: string[] } } };
  resources: { requests: { cpu: string } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; emptyDir?: object }>;
}

describe('the Switchyard config in the ConfigMap and the Deployment around it', () => {
  const configMap = find('ConfigMap') as K8sObject & { data: Record<string, string> };
  const secret = find('Secret') as K8sObject & { stringData: Record<string, string> };
  const deployment = find('Deployment') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } };
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const [configKey] = Object.keys(configMap.data);
  const text = configMap.data[configKey];
  const config = parseConfig(text, `${configMap.metadata.name}/${configKey}`, secret.stringData);
  const port = (name: string) => container.ports.find((p) => p.name === name)?.containerPort;
  const mount = (volume: string) => container.volumeMounts.find((m) => m.name === volume);

  test('passes the gateway\'s own validation (schema, references, every feature\'s checks) with the Secret\'s variables', () => {
    const problems = createFeatures().flatMap((feature) => feature.validate?.(config) ?? []);
    assert.deepEqual(problems, []);
    const referenced = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]));
    // Every variable the config reads is in the Secret; the rest of the Secret is read by the gateway itself.
    assert.deepEqual([...referenced].filter((name) => !(name in secret.stringData)), []);
    assert.deepEqual(Object.keys(secret.stringData).filter((name) => !referenced.has(name)).sort(), ['SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_SECRETS_KEY']);
    assert.deepEqual(container.envFrom, [{ secretRef: { name: secret.metadata.name } }]);
  });

  test('keeps limits, spend, audit and runtime config in Redis and PostgreSQL, shared by every pod', () => {
    assert.equal(config.limits.backend, 'redis');
    assert.equal(config.audit.sinks.postgres.enabled, true);
    assert.equal(config.audit.sinks.file.enabled, false);
    assert.equal(config.config_store.backend, 'postgres');
    assert.equal(config.auth, 'keys');
  });

  test('listens where the ports and probes point, and is mounted where --config and data_dir say', () => {
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.admin.host, '0.0.0.0', 'the kubelet probes the pod IP');
    assert.equal(port('http'), config.server.port);
    assert.equal(port('admin'), config.admin.port);
    assert.equal(container.env.find((e) => e.name === 'SWITCHYARD_ADMIN_PORT')?.value, String(config.admin.port));
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
    assert.deepEqual(container.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
    assert.deepEqual(container.startupProbe.httpGet, { path: '/healthz', port: 'admin' });
    const configVolume = pod.volumes.find((v) => v.configMap?.name === configMap.metadata.name);
    assert.ok(configVolume, 'the ConfigMap is mounted');
    assert.deepEqual(container.args, ['start', '--config', `${mount(configVolume.name)?.mountPath}/${configKey}`]);
    assert.equal(mount('data')?.mountPath, config.data_dir);
    assert.ok(pod.volumes.find((v) => v.name === 'data')?.emptyDir);
    assert.equal(config.server.threads, Number(container.resources.requests.cpu), 'threads: auto would count the node\'s CPUs');
  });

  test('the grace period covers preStop, the drain and the flush', () => {
    const preStop = container.lifecycle.preStop.exec.command;
    assert.equal(preStop[0], 'sleep');
    const needed = Number(preStop[1]) + config.server.drain_timeout_ms / 1000 + 10;
    assert.ok(pod.terminationGracePeriodSeconds >= needed, `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} < ${needed}`);
  });

  test('runs as the image\'s non-root user with a read-only root file system', () => {
    const dockerUser = /^USER (\d+):(\d+)$/m.exec(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
    assert.ok(dockerUser);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.runAsUser, Number(dockerUser[1]));
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.notEqual(mount('data')?.readOnly, true);
  });

  test('Services, PodDisruptionBudget, HorizontalPodAutoscaler and NetworkPolicy select these pods', () => {
    const labels = deployment.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
    assert.ok(selects(deployment.spec.selector.matchLabels));
    for (const service of manifests.filter((m) => m.object.kind === 'Service').map((m) => m.object as K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ targetPort: string }> } })) {
      assert.ok(selects(service.spec.selector), service.metadata.name);
      for (const p of service.spec.ports) assert.ok(port(p.targetPort), `${service.metadata.name}: targetPort ${p.targetPort}`);
    }
    const pdb = find('PodDisruptionBudget') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } };
    assert.ok(selects(pdb.spec.selector.matchLabels));
    const hpa = find('HorizontalPodAutoscaler') as K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas: number; maxReplicas: number } };
    assert.deepEqual([hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name], ['Deployment', deployment.metadata.name]);
    assert.ok(hpa.spec.minReplicas >= 2, 'one pod left during a drain or a node upgrade');
    const policy = find('NetworkPolicy') as K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ ports: Array<{ port: string }> }> } };
    assert.ok(selects(policy.spec.podSelector.matchLabels));
    assert.deepEqual(policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)).sort(), ['admin', 'http']);
  });
});
