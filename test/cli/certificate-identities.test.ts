/**
 * The administrator's commands for certificate identities, run as a person would: a trust root
 * from an organisation CA's PEM chain (and the public-good one shipped with the program), a
 * participant registered by workflow identity, listed, its build logged, revoked.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { statement } from '../../src/attest/sign.js';
import { AttestError } from '../../src/attest/errors.js';
import { adminKeyPath } from '../../src/config/datadir.js';
import { certificatePem } from '../../src/verify/certificate.js';
import { identityId } from '../../src/trust/identity.js';
import { startNode, type TestNode } from '../helpers.js';
import { certificateBundle } from '../cert-signing.js';
import { testCA, workflowLeaf } from '../x509-ca.js';
import { runPedigree } from './run.js';

const GH = 'https://token.actions.githubusercontent.com';
const WORKFLOW = 'https://github.com/acme/pump-fw/.github/workflows/release.yml';
const ca = testCA();
let node: TestNode;
const pedigree = (args: string[]) => runPedigree(node.dir, args);
const build = (sha: string) => statement([{ digest: { sha256: sha } }], resolvePredicateType('slsa-provenance').uri, { buildDefinition: { buildType: 'ci', externalParameters: {} }, runDetails: { builder: { id: WORKFLOW } } });

beforeAll(async () => {
  node = await startNode();
  await writeFile(join(node.dir, 'acme-ca.pem'), certificatePem(ca.intermediate.der) + certificatePem(ca.root.der));
}, 30_000);
afterAll(() => node.cleanup());

describe('pedigree trust-root and participant identities', () => {
  it('registers a CA chain and the public-good root, a participant by identity, lists them, and revokes the identity', async () => {
    const admin = ['--server', node.url, '--admin-key', adminKeyPath(node.dir)];
    const add = await pedigree(['trust-root', 'add', ...admin, '--name', 'acme-ci', '--ca-chain', 'acme-ca.pem', '--json']);
    expect(add.stderr).toBe('');
    expect(JSON.parse(add.stdout)).toMatchObject({ name: 'acme-ci', duplicate: false });
    expect((await pedigree(['trust-root', 'add', ...admin, '--name', 'sigstore', '--sigstore-public-good'])).stdout).toMatch(/Registered trust root sigstore at log index \d+/);
    const list = await pedigree(['trust-root', 'list', '--server', node.url]);
    expect(list.stdout).toMatch(/acme-ci\tactive\t1 certificate authority, 0 log\(s\)/);
    expect(list.stdout).toMatch(/sigstore\tactive\t\d+ certificate authorities, 2 log\(s\)/);

    const reg = await pedigree(['participant', 'add', ...admin, '--name', 'Acme CI', '--id', 'acme-ci-builds', '--role', 'builder', '--identity', `${WORKFLOW}@refs/tags/*`, '--identity-issuer', GH, '--trust-root', 'acme-ci', '--json']);
    expect(reg.code).toBe(0);
    const id = identityId({ trustRoot: 'acme-ci', issuer: GH, subject: `${WORKFLOW}@refs/tags/*` });
    expect(JSON.parse(reg.stdout)).toMatchObject({ id: 'acme-ci-builds', keyIds: [], identityIds: [id] });
    expect((await pedigree(['participant', 'list', '--server', node.url])).stdout).toContain(`  identity ${id}  ${WORKFLOW}@refs/tags/* from ${GH} under acme-ci`);

    const logged = await node.attestations.submit(certificateBundle(build('12'.repeat(32)), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v1`)));
    expect(logged.record.signer).toBe('acme-ci-builds');

    const revoke = await pedigree(['participant', 'revoke', ...admin, '--id', 'acme-ci-builds', '--identity-id', id, '--reason', 'retired']);
    expect(revoke.stdout).toMatch(new RegExp(`Revoked identity ${id} of acme-ci-builds \\(retired\\)`));
    await expect(node.attestations.submit(certificateBundle(build('34'.repeat(32)), workflowLeaf(ca.intermediate, `${WORKFLOW}@refs/tags/v2`)))).rejects.toSatisfy((e: unknown) => e instanceof AttestError && e.code === 'SIGNER_REVOKED');
  });

  it('says what is wrong, exit 3, sending nothing', async () => {
    const admin = ['--server', node.url, '--admin-key', adminKeyPath(node.dir)];
    const size = node.ledger.size;
    const cases: Array<[string[], RegExp]> = [
      [['trust-root', 'add', ...admin, '--name', 'x'], /exactly one of --trusted-root/],
      [['trust-root', 'add', ...admin, '--name', 'Bad Name', '--sigstore-public-good'], /--name must be/],
      [['trust-root', 'add', ...admin, '--name', 'x', '--ca-chain', 'missing.pem'], /--ca-chain: cannot read missing\.pem: no such file/],
      [['participant', 'add', ...admin, '--name', 'N', '--role', 'builder'], /at least one --public-key FILE or --identity SUBJECT/],
      [['participant', 'add', ...admin, '--name', 'N', '--role', 'builder', '--identity', 'a@b.c'], /--identity needs --trust-root/],
      [['participant', 'add', ...admin, '--name', 'N', '--role', 'builder', '--identity', '**', '--trust-root', 'acme-ci'], /must name something besides wildcards/],
      [['participant', 'revoke', ...admin, '--id', 'acme-ci-builds', '--until', '2027-01-01T00:00:00Z'], /--until needs --effective/],
    ];
    for (const [args, want] of cases) {
      const r = await pedigree(args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(want);
    }
    expect(node.ledger.size).toBe(size);
  });
});
