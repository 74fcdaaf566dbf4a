// Types of bin/entry.js, for the tests.
export const ROOT: string;
export const STAMP: string;
export function compiledMain(root?: string, env?: Record<string, string | undefined>): string | null;
