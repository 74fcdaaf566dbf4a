import { createPublicKey } from 'node:crypto';
import { openLedger } from '../../src/app.js';
import { adminKeyPath } from '../../src/config/datadir.js';
import { ed25519NoteVerifier } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { startServer } from '../../src/server/http.js';
import { ORIGIN, type TestNode } from '../helpers.js';

/** A node on an existing data directory, through the real composition root; cleanup stops it and keeps the directory. */
export async function openNode(dir: string): Promise<TestNode> {
  const opened = await openLedger(dir);
  const server = await startServer({ ledger: opened.ledger, attestations: opened.attestations, devices: opened.devices, logError: () => undefined });
  return {
    dir,
    ledger: opened.ledger,
    attestations: opened.attestations,
    devices: opened.devices,
    server,
    url: server.url,
    verifier: ed25519NoteVerifier(ORIGIN, createPublicKey(opened.dataDir.config.logPublicKey)),
    adminKey: await readPrivateKey(adminKeyPath(dir)),
    cleanup: async () => {
      await server.close();
      await opened.ledger.close().catch(() => undefined);
    },
  };
}
