import { describe, expect, it } from 'vitest';
import { runJourney } from './journey.js';

describe('README device journeys', () => {
  it('the manufacturer journey, right after the supplier journey in the same shell (as a reader follows them): PASS ships, FAIL and INCOMPLETE are blocked with exit 1 and 2, the recall finds its devices', async () => {
    const r = await runJourney(['supplier', 'manufacturer']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The supplier journey stopped its ledger, so the manufacturer's started on the same port and talked to its own.
    expect(r.stdout).toMatch(/Registered acme-sensors/);
    expect(r.stdout).toMatch(/Loaded \d+ demo attestations/);
    expect(r.stdout).toMatch(/^PASS {2}\(01\)09506000134352\(21\)IP-000001/m);
    expect(r.stdout).toMatch(/^FAIL {2}\(01\)09506000134352\(21\)IP-000013/m);
    expect(r.stdout).toMatch(/SIGNER_REVOKED/);
    expect(r.stdout).toMatch(/blocked, exit code 1/);
    expect(r.stdout).toMatch(/^INCOMPLETE {2}\(01\)09506000134352\(21\)IP-000024/m);
    expect(r.stdout).toMatch(/not ready, exit code 2/);
    expect(r.stdout).toMatch(/^3 device\(s\) contain valveco:VALVE-7:L78$/m);
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

  it('the firmware journey: the fixed image passes the update gate, the vulnerable one fails with the update named, a damaged one is unknown; affected finds the devices on OpenSSL 3.0.7', async () => {
    const r = await runJourney('firmware');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^PASS {2}\S*infusafe-fw-2\.4\.2\.bin/m);
    expect(r.stdout).toMatch(/^FAIL {2}\S*infusafe-fw-2\.4\.1\.bin/m);
    expect(r.stdout).toMatch(/VULNERABLE: CVE-2023-0286 .*update available: infusafe-fw 2\.4\.2/);
    expect(r.stdout).toMatch(/do not flash, exit code 1/);
    expect(r.stdout).toMatch(/^UNKNOWN {2}damaged\.bin/m);
    expect(r.stdout).toMatch(/unknown image, exit code 5/);
    // Devices 13 to 23 still run 2.4.1; the updated ones run 2.4.2, whose bootloader's 3.0.7 is not affected.
    const lists = [...r.stdout.matchAll(/^(\d+) device\(s\) run firmware with (.*)$/gm)].map((m) => [m[1], m[2]]);
    expect(lists).toEqual([['11', 'pkg:generic/openssl@3.0.7'], ['11', 'pkg:generic/openssl in vers:generic/>=3.0.0|<3.0.8']]);
    expect(r.stdout).toMatch(/not verified here: check each device with verify-device/);
    const udis = [...r.stdout.matchAll(/^ {2}\(01\)09506000134352\(21\)IP-0000(\d\d)\t/gm)].map((m) => Number(m[1]));
    expect(udis).toEqual([...Array.from({ length: 11 }, (_, i) => 13 + i), ...Array.from({ length: 11 }, (_, i) => 13 + i)]);
    expect(r.stdout).toMatch(/^PASS {2}\(01\)09506000134352\(21\)IP-000001/m);
    expect(r.stdout).toMatch(/updated {4}infusafe-fw 2\.4\.1 sha256:\S+ → 2\.4\.2 sha256:\S+ by city-hospital/);
    expect(r.stdout).toMatch(/evidence package written to \S+fw-2\.4\.2\.evidence\.json/);
    expect(r.stdout).toMatch(/^PASS {2}\S*infusafe-fw-2\.4\.2\.bin[\s\S]*evidence verified offline/m);
  }, 180_000);
});
