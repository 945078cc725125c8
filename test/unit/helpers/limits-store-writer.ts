// Child process for limits-store.test: rewrites the store as fast as it can until killed. Does nothing without arguments.
import { LimitsFileStore, type LimitsDocument } from '../../../src/limits/file-store.js';
import { recordFromPlaintext } from '../../../src/limits/keys.js';

const dir = process.argv[2];
if (dir) {
  const store = new LimitsFileStore(dir);
  const keys = Array.from({ length: 300 }, (_, i) =>
    recordFromPlaintext(`sk-sy-test-${i}`, { name: `team-${i}`, models: null, limits: { rpm: i }, model_limits: {}, budget: {} }),
  );
  let n = 0;
  for (;;) {
    const doc: LimitsDocument = { version: 1, keys, usage: { [`k:${keys[0]!.id}`]: { totalRequests: ++n } } };
    store.write(doc);
    if (n === 1) process.stdout.write('first\n');
  }
}
