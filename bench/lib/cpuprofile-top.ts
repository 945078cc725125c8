// node dist/bench/lib/cpuprofile-top.js FILE.cpuprofile... [--top N] — prints the top self-time functions.
import { formatProfile, summarizeProfile } from './cpuprofile.js';
import { repoRoot } from './targets.js';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const topN = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 30;
if (args.length === 0) {
  process.stderr.write('usage: node dist/bench/lib/cpuprofile-top.js FILE.cpuprofile... [--top N]\n');
  process.exit(1);
}
for (const file of args) process.stdout.write(`${formatProfile(summarizeProfile(file, repoRoot, topN))}\n`);
