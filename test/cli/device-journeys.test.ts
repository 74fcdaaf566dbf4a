import { describe, expect, it } from 'vitest';
import { runJourney } from './journey.js';

describe('README device journeys', () => {
  it('the manufacturer journey: PASS ships, FAIL and INCOMPLETE are blocked with exit 1 and 2, the recall finds its devices', async () => {
    const r = await runJourney('manufacturer');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^PASS {2}\(01\)09506000134352\(21\)IP-000001/m);
    expect(r.stdout).toMatch(/^FAIL {2}\(01\)09506000134352\(21\)IP-000013/m);
    expect(r.stdout).toMatch(/SIGNER_REVOKED/);
    expect(r.stdout).toMatch(/blocked, exit code 1/);
    expect(r.stdout).toMatch(/^INCOMPLETE {2}\(01\)09506000134352\(21\)IP-000024/m);
    expect(r.stdout).toMatch(/not ready, exit code 2/);
    expect(r.stdout).toMatch(/3 device\(s\) affected/);
  }, 180_000);

  it('the hospital journey: every UDI form works, a recalled device is refused, evidence verifies offline', async () => {
    const r = await runJourney('hospital');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^PASS {2}\(01\)09506000134352\(21\)IP-000007/m);
    expect(r.stdout).toMatch(/^RECALLED {2}\(01\)09506000134352\(21\)IP-000021/m);
    expect(r.stdout).toMatch(/recall {5}RC-2026-07: VALVE-7 seal may degrade/);
    expect(r.stdout).toMatch(/do not deploy, exit code 4/);
    expect(r.stdout).toMatch(/evidence verified offline/);
  }, 180_000);
});
