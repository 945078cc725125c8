// Standalone fuzz run (issue 11) printing the class-count tables, for docs and for reproducing a case:
//   node .build-D/test/helpers/fuzz-run.js --cases 50000 [--seed N] [--concurrency 32] [--head-concurrency 128]
//     [--deadline-ms 2000] [--threads 2] [--examples 3] [--case 17,204] [--port 8080 --max-body-bytes 16777216]
// Without --port it starts the test stack (gateway + simulator); with it, it fuzzes a gateway already running.
import { parseArgs } from 'node:util';
import { seedFromEnv } from './fuzz-prng.js';
import { describeOutcome, formatReport, runFuzz, settingsFromEnv } from './fuzz-runner.js';
import { startFuzzStack } from './fuzz-stack.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      concurrency: { type: 'string' },
      'head-concurrency': { type: 'string' },
      'deadline-ms': { type: 'string' },
      threads: { type: 'string', default: '2' },
      examples: { type: 'string', default: '1' },
      case: { type: 'string' },
      port: { type: 'string' },
      'max-body-bytes': { type: 'string', default: String(16 * 1024 * 1024) },
    },
  });
  const settings = settingsFromEnv(
    {
      SWITCHYARD_FUZZ_CASES: values.cases ?? process.env.SWITCHYARD_FUZZ_CASES,
      SWITCHYARD_FUZZ_CONCURRENCY: values.concurrency ?? process.env.SWITCHYARD_FUZZ_CONCURRENCY,
      SWITCHYARD_FUZZ_HEAD_CONCURRENCY: values['head-concurrency'] ?? process.env.SWITCHYARD_FUZZ_HEAD_CONCURRENCY,
      SWITCHYARD_FUZZ_DEADLINE_MS: values['deadline-ms'] ?? process.env.SWITCHYARD_FUZZ_DEADLINE_MS,
    },
    seedFromEnv(values.seed ?? process.env.SWITCHYARD_FUZZ_SEED),
  );
  const only = values.case?.split(',').map((s) => Number(s.trim()));
  const stack = values.port ? undefined : await startFuzzStack(Number(values.threads));
  const port = values.port ? Number(values.port) : (stack?.gateway.port as number);
  const maxBodyBytes = stack ? stack.maxBodyBytes : Number(values['max-body-bytes']);
  console.log(`fuzz: seed ${settings.seed}, ${only ? `cases ${only.join(',')}` : `${settings.cases} cases`}, gateway port ${port}`);
  try {
    const examples = Number(values.examples);
    const report = await runFuzz({ ...settings, port, maxBodyBytes, only, examplesPerFamily: only ? Number.MAX_SAFE_INTEGER : examples });
    console.log(formatReport(report, false));
    const failing = report.families.filter((f) => f.failed > 0);
    if (failing.length > 0) console.log(`\nFailing cases (up to ${only ? 'all' : examples} per family and kind of violation, smallest first):`);
    for (const f of failing) {
      for (const [kind, list] of Object.entries(f.examples)) {
        console.log(`\n## ${f.kind} ${f.family}: ${kind}`);
        for (const o of list) console.log(describeOutcome(o, report.seed));
      }
    }
  } finally {
    await stack?.stop();
  }
}

// `node --test dist/test/` loads every file under test/, this one too: run only when started by hand.
if (process.env.NODE_TEST_CONTEXT === undefined) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
