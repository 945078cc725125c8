import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ratioPairs, summarizeRounds } from '../../bench/scenarios/ratio-rounds.js';

describe('bench ratio rounds', () => {
  test('ratios are taken within each round and summarised by their median', () => {
    const rps = { direct: [100, 200, 100], 'gateway-t1': [30, 40, 60], nginx: [60, 100, 100] };
    const ratios = summarizeRounds(rps, ratioPairs(Object.keys(rps)));
    assert.deepEqual(Object.keys(ratios), ['gateway-t1/nginx', 'gateway-t1/direct']);
    assert.deepEqual(ratios['gateway-t1/nginx'], { median: 0.5, min: 0.4, max: 0.6, values: [0.5, 0.4, 0.6] });
    assert.equal(ratios['gateway-t1/direct'].median, 0.3);
  });

  test('without nginx only the direct ratio is formed', () => {
    assert.deepEqual(ratioPairs(['direct', 'gateway-auto']), [['gateway-auto', 'direct']]);
  });
});
