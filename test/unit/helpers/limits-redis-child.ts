// Child gateway process for the two-process Redis test: fires admissions at one key, prints how many got in.
import { redisConfig, redisLimiter } from './limits-redis.js';

const [prefix, limit, attempts, inFlight] = process.argv.slice(2);
if (prefix && limit && attempts && inFlight) {
  const { limiter, subjects, redis } = await redisLimiter(redisConfig(prefix, { timeout_ms: 3000 }), [{ rpm: Number(limit) }]);
  // Connected: say so, then wait for the parent's go so both processes really overlap.
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
  let admitted = 0;
  let errors = 0;
  let next = 0;
  const lane = async () => {
    while (next++ < Number(attempts)) {
      const a = await limiter.admit(subjects, 10);
      if (a.ok) admitted++;
      else if (!a.refusal) errors++;
    }
  };
  await Promise.all(Array.from({ length: Number(inFlight) }, lane));
  process.stdout.write(JSON.stringify({ admitted, errors }) + '\n');
  redis.disconnect();
}
