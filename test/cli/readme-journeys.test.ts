import { describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { statement } from '../../src/attest/sign.js';
import { certificateBundle } from '../cert-signing.js';
import { testCA, workflowLeaf } from '../x509-ca.js';
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

  it('the keyless-style variant registers a workflow identity, logs its certificate-signed build, and the completed bundle verifies', async () => {
    // A test CA stands in for the CI's Sigstore instance; the release job's bundle is made as a Sigstore client makes it.
    const ca = testCA();
    const leaf = workflowLeaf(ca.intermediate, 'https://github.com/acme/pump-fw/.github/workflows/release.yml@refs/tags/v2.1.0');
    const build = statement([{ name: 'pump-fw-2.1.0.bin', digest: { sha256: 'ab'.repeat(32) } }], resolvePredicateType('slsa-provenance').uri, {
      buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: {} },
      runDetails: { builder: { id: 'https://github.com/acme/pump-fw/.github/workflows/release.yml@refs/tags/v2.1.0' } },
    });
    const r = await runJourney('keyless', {
      'acme-sigstore.trusted_root.json': JSON.stringify(ca.trustedRoot),
      'pump-fw-build.sigstore.json': JSON.stringify(certificateBundle(build, leaf)),
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Registered trust root acme-sigstore at log index 0/);
    expect(r.stdout).toMatch(/Registered acme-fw-ci \(Acme Firmware CI\) as builder at log index 1\n  identity [0-9a-f]{64}  https:\/\/github\.com\/acme\/pump-fw\/\.github\/workflows\/release\.yml@refs\/tags\/\* from https:\/\/token\.actions\.githubusercontent\.com under acme-sigstore/);
    expect(r.stdout).toMatch(/pump-fw-build\.sigstore\.json: recorded at log index 2/);
    expect(r.stdout).toMatch(/^VALID: /m);
  }, 120_000);
});
