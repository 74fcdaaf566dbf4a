import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement } from '../../src/attest/sign.js';
import { componentStatement, party, registration } from '../attest/fixtures.js';
import { startNode, type TestNode } from '../helpers.js';
import { runPedigree } from './run.js';

let node: TestNode;

beforeAll(async () => {
  node = await startNode();
});
afterAll(() => node.cleanup());

describe('pedigree submit (bulk upload through the batch mutation)', () => {
  it('sends files in batches, answers each on its own, writes completed bundles and exits 1 when some are refused', async () => {
    const supplier = party('bulk');
    await node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey));
    const files: string[] = [];
    for (let i = 0; i < 5; i++) {
      files.push(`b${i}.json`);
      writeFileSync(join(node.dir, files[i]!), JSON.stringify(await signStatement(componentStatement('bulk', 'P', [`S${i}`]), supplier.privateKey)));
    }
    // One by a key nobody registered, and one file that is not JSON.
    writeFileSync(join(node.dir, 'stranger.json'), JSON.stringify(await signStatement(componentStatement('bulk', 'P', ['S9']), party('x').privateKey)));
    writeFileSync(join(node.dir, 'junk.json'), 'not json');
    const before = node.ledger.size;

    // The unreadable file in the middle of a batch: answers still come in the order given.
    const given = [files[0]!, 'junk.json', ...files.slice(1), 'stranger.json'];
    const r = await runPedigree(node.dir, ['submit', '--server', node.url, '--batch-size', '2', '--out-dir', 'done', '--json', ...given]);
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { bundles: number; recorded: number; refused: number; results: Array<{ file: string; ok: boolean; code?: string; logIndex?: number }> };
    expect(out).toMatchObject({ bundles: 7, recorded: 5, duplicates: 0, refused: 2 });
    expect(out.results.map((x) => x.file)).toEqual(given);
    const byFile = new Map(out.results.map((x) => [x.file, x]));
    expect(byFile.get('stranger.json')).toMatchObject({ ok: false, code: 'SIGNER_UNKNOWN' });
    expect(byFile.get('junk.json')).toMatchObject({ ok: false, code: 'MALFORMED_JSON' });
    expect(node.ledger.size).toBe(before + 5);
    // Progress per request on stderr: 6 sendable bundles in batches of 2.
    expect(r.stderr.match(/bundles submitted/g)).toHaveLength(3);
    const completed = JSON.parse(readFileSync(join(node.dir, 'done', 'b3.json'), 'utf8')) as { verificationMaterial: { tlogEntries: Array<{ logIndex: string }> } };
    expect(Number(completed.verificationMaterial.tlogEntries[0]!.logIndex)).toBe(byFile.get('b3.json')!.logIndex);

    // Sent again: all already in the log, nothing written, exit 0.
    const again = await runPedigree(node.dir, ['submit', '--server', node.url, ...files]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 recorded, 5 already in the log, 0 refused/);
    expect(node.ledger.size).toBe(before + 5);
  });
});
