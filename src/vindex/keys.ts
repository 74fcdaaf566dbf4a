/**
 * The map function of the verifiable index: the lookup keys a log entry is filed under. One
 * deterministic function of what the entry's signature covers (the statement) and who signed it
 * (the key ID), so that anyone following the log can rebuild the index and compare roots.
 *
 *   udi:<canonical UDI>              a device (its subjects, and what an advisory affects)
 *   partSerial:<supplier:part:serial> a part (subjects, assembly contents, advisory targets)
 *   lot:<supplier:part:lot>          a lot (likewise)
 *   sha256:<hex>                     a file: a firmware image (subjects, assembly contents, targets)
 *   participant:<id>                 a registration or revocation of that participant
 *   key:<hex key ID>                 every entry the key signed, and the registration or
 *                                    revocation that names the key
 *
 * Keys are returned sorted and without repeats. Pure, no Node APIs.
 */
import { PARTICIPANT_URI, REVOCATION_URI } from '../attest/predicates.js';
import { indexRefs, type Statement } from '../attest/statement.js';
import { keyIdOfPem } from '../trust/registry.js';

const INDEXED = new Set(['udi', 'partSerial', 'lot', 'sha256', 'participant']);

export function lookupKeys(statement: Statement, signerKeyId: string): string[] {
  const keys = new Set<string>([`key:${signerKeyId}`]);
  for (const r of indexRefs(statement)) if (INDEXED.has(r.kind)) keys.add(`${r.kind}:${r.value}`);
  const p = statement.predicate as { id?: unknown; participantId?: unknown; publicKeys?: unknown; keyId?: unknown };
  if (statement.predicateType === PARTICIPANT_URI) {
    if (typeof p.id === 'string') keys.add(`participant:${p.id}`);
    for (const pem of Array.isArray(p.publicKeys) ? p.publicKeys : []) {
      try {
        keys.add(`key:${keyIdOfPem(String(pem))}`);
      } catch {
        // not a key: ingestion refuses such registrations; nothing to file it under
      }
    }
  }
  if (statement.predicateType === REVOCATION_URI) {
    if (typeof p.participantId === 'string') keys.add(`participant:${p.participantId}`);
    if (typeof p.keyId === 'string') keys.add(`key:${p.keyId}`);
  }
  return [...keys].sort();
}
