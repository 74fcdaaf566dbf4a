/** What the attack tests ask a real ledger over HTTP: a device's verdict, a refusal's code, the tree size. */
import { expect } from 'vitest';
import { ClientError, graphql, submitBundle } from '../../src/client/graphql.js';

export async function verdictOf(url: string, udi: string): Promise<{ verdict: string; codes: string[] }> {
  const d = await graphql<{ device: { verify: { verdict: string; findings: Array<{ code: string }> } } }>(url, 'query ($u: String!) { device(udi: $u) { verify { verdict findings { code } } } }', { u: udi });
  return { verdict: d.device.verify.verdict, codes: d.device.verify.findings.map((f) => f.code) };
}

/** Submits a bundle that must be refused; returns the refusal's code. */
export async function refusalCode(url: string, bundle: unknown): Promise<string> {
  const e = await submitBundle(url, bundle).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ClientError);
  return (e as ClientError).code;
}

export async function treeSizeOf(url: string): Promise<number> {
  const text = await (await fetch(`${url}/checkpoint`)).text();
  return Number(text.split('\n')[1]);
}
