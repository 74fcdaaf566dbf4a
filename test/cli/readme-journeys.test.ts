import { describe, expect, it } from 'vitest';
import { runJourney } from './journey.js';

describe('README journeys', () => {
  it('the supplier journey runs as written and ends with a verified bundle', async () => {
    const r = await runJourney('supplier');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Registered acme-sensors/);
    expect(r.stdout).toMatch(/completed bundle written to/);
    expect(r.stdout).toMatch(/^VALID: /m);
    expect(r.stdout).toMatch(/Registered infusion-corp \(Infusion Corp\) as manufacturer/);
    expect(r.stdout).toMatch(/Recorded at log index \d+; completed bundle written to .*sn1-assembly\.sigstore\.json/);
  }, 120_000);
});
