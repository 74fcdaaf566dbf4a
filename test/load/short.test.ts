/**
 * The short versions of `npm run soak` and `npm run load`: a real server process SIGKILLed while
 * submitters write, and a mixed load, each checked for lost writes, errors and consistency.
 */
import { describe, expect, it } from 'vitest';
import { runLoad } from '../../scripts/load.js';
import { runSoak } from '../../scripts/soak.js';

describe('soak and load, short', () => {
  it('loses no acknowledged entry across random SIGKILLs, and every checkpoint seen is consistent with the last', async () => {
    const r = await runSoak(5, 4);
    expect(r.kills).toBeGreaterThanOrEqual(2);
    expect(r.acknowledged).toBeGreaterThan(0);
    expect(r.lost).toBe(0);
    expect(r.inconsistentCheckpoints).toBe(0);
    expect(r.auditConsistent).toBe(true);
    expect(r.finalSize).toBeGreaterThanOrEqual(r.acknowledged + 1);
  }, 120_000);

  it('serves a mixed read/write load with no errors, and the log audits consistent after it', async () => {
    const r = await runLoad(3, 8);
    expect(r.requests).toBeGreaterThan(100);
    expect(r.errors).toBe(0);
    expect(r.writesAcknowledged).toBeGreaterThan(0);
    expect(r.auditConsistent).toBe(true);
  }, 120_000);
});
