/**
 * GS1 UDI parsing: human-readable element strings "(01)…(21)…", raw scanner input with FNC1/GS
 * (0x1D) separators, and GS1 Digital Link URIs. Supported AIs: (01) GTIN-14 with check digit,
 * (11) production date, (17) expiry date, (10) lot, (21) serial.
 *
 * The canonical form lists the AIs in the order 01, 11, 17, 10, 21. A device is identified by
 * `deviceKey`: "(01)<GTIN>(21)<serial>" (lot and dates describe production, not identity).
 */
export type UdiErrorCode =
  | 'UDI_EMPTY'
  | 'UDI_TOO_LONG'
  | 'UDI_MALFORMED'
  | 'UDI_UNKNOWN_AI'
  | 'UDI_DUPLICATE_AI'
  | 'UDI_FIELD_TOO_LONG'
  | 'UDI_BAD_CHARACTER'
  | 'UDI_BAD_GTIN'
  | 'UDI_CHECK_DIGIT'
  | 'UDI_BAD_DATE'
  | 'UDI_MISSING_GTIN'
  | 'UDI_MISSING_SERIAL';

export class UdiError extends Error {
  constructor(
    readonly code: UdiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UdiError';
  }
}

export interface Udi {
  readonly gtin: string;
  readonly serial?: string;
  readonly lot?: string;
  /** YYMMDD as encoded. */
  readonly productionDate?: string;
  readonly expiryDate?: string;
}

type Ai = '01' | '10' | '11' | '17' | '21';
const FIXED: Record<string, number> = { '01': 14, '11': 6, '17': 6 };
const VARIABLE: Record<string, number> = { '10': 20, '21': 20 };
const NAMES: Record<Ai, string> = { '01': 'GTIN', '10': 'lot', '11': 'production date', '17': 'expiry date', '21': 'serial' };
const ORDER: Ai[] = ['01', '11', '17', '10', '21'];
/** GS1 AI encodable character set 82. */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;
const GS = '\u001d';
export const MAX_UDI_INPUT = 512;

export function gtinCheckDigit(first13: string): number {
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += Number(first13[12 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10;
}

function checkValue(ai: Ai, value: string): void {
  const name = NAMES[ai];
  if (ai === '01') {
    if (!/^[0-9]{14}$/.test(value)) throw new UdiError('UDI_BAD_GTIN', `GTIN must be 14 digits, got "${value}"`);
    const want = gtinCheckDigit(value.slice(0, 13));
    if (Number(value[13]) !== want) throw new UdiError('UDI_CHECK_DIGIT', `GTIN ${value} has check digit ${value[13]}, expected ${want}`);
  } else if (ai === '11' || ai === '17') {
    const m = /^([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(value);
    const month = m ? Number(m[2]) : 0;
    const day = m ? Number(m[3]) : 99;
    // Day 00 means "end of month" in GS1 dates.
    if (!m || month < 1 || month > 12 || day > 31) throw new UdiError('UDI_BAD_DATE', `${name} must be YYMMDD, got "${value}"`);
  } else {
    if (value.length === 0) throw new UdiError('UDI_MALFORMED', `${name} is empty`);
    if (value.length > VARIABLE[ai]!) throw new UdiError('UDI_FIELD_TOO_LONG', `${name} is at most ${VARIABLE[ai]} characters, got ${value.length}`);
    if (!CSET82.test(value)) throw new UdiError('UDI_BAD_CHARACTER', `${name} "${value}" has characters GS1 does not allow`);
  }
}

function build(fields: Map<Ai, string>): Udi {
  for (const [ai, v] of fields) checkValue(ai, v);
  const gtin = fields.get('01');
  if (!gtin) throw new UdiError('UDI_MISSING_GTIN', 'a UDI needs a GTIN (01)');
  const out: { -readonly [K in keyof Udi]: Udi[K] } = { gtin };
  if (fields.has('21')) out.serial = fields.get('21')!;
  if (fields.has('10')) out.lot = fields.get('10')!;
  if (fields.has('11')) out.productionDate = fields.get('11')!;
  if (fields.has('17')) out.expiryDate = fields.get('17')!;
  return out;
}

function put(fields: Map<Ai, string>, ai: string, value: string): void {
  if (!(ai in FIXED) && !(ai in VARIABLE)) throw new UdiError('UDI_UNKNOWN_AI', `application identifier (${ai}) is not supported; use 01, 10, 11, 17, 21`);
  if (fields.has(ai as Ai)) throw new UdiError('UDI_DUPLICATE_AI', `(${ai}) appears twice`);
  fields.set(ai as Ai, value);
}

function parseHumanReadable(text: string): Udi {
  const fields = new Map<Ai, string>();
  const re = /\(([0-9]{2,4})\)([^(]*)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    put(fields, m[1]!, m[2]!);
    consumed = re.lastIndex;
  }
  if (consumed !== text.length) throw new UdiError('UDI_MALFORMED', 'expected (AI)value pairs such as (01)…(21)…');
  return build(fields);
}

function parseRaw(text: string): Udi {
  const fields = new Map<Ai, string>();
  let s = text.replace(/^\][A-Za-z][0-9]/, ''); // symbology identifier such as ]d2, ]C1, ]Q3
  if (s.startsWith(GS)) s = s.slice(1);
  let i = 0;
  while (i < s.length) {
    const ai = s.slice(i, i + 2);
    if (!/^[0-9]{2}$/.test(ai)) throw new UdiError('UDI_MALFORMED', `expected an application identifier at position ${i + 1}`);
    i += 2;
    if (ai in FIXED) {
      const value = s.slice(i, i + FIXED[ai]!);
      if (value.length !== FIXED[ai] || value.includes(GS)) throw new UdiError('UDI_MALFORMED', `(${ai}) needs ${FIXED[ai]} digits`);
      put(fields, ai, value);
      i += FIXED[ai]!;
      if (s[i] === GS) i++; // a redundant separator after a fixed-length field is tolerated
    } else if (ai in VARIABLE) {
      const end = s.indexOf(GS, i);
      const value = end < 0 ? s.slice(i) : s.slice(i, end);
      put(fields, ai, value);
      i = end < 0 ? s.length : end + 1;
    } else {
      throw new UdiError('UDI_UNKNOWN_AI', `application identifier (${ai}) is not supported; use 01, 10, 11, 17, 21`);
    }
  }
  return build(fields);
}

function parseDigitalLink(text: string): Udi {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UdiError('UDI_MALFORMED', 'not a valid GS1 Digital Link URI');
  }
  const fields = new Map<Ai, string>();
  const parts = url.pathname.split('/').filter((p) => p.length > 0);
  const start = parts.findIndex((p) => p === '01' || p === 'gtin');
  if (start < 0) throw new UdiError('UDI_MISSING_GTIN', 'Digital Link URI has no /01/<GTIN> path');
  const path = parts.slice(start);
  if (path.length % 2 !== 0) throw new UdiError('UDI_MALFORMED', 'Digital Link path must be /AI/value pairs');
  const alias: Record<string, string> = { gtin: '01', lot: '10', ser: '21', exp: '17' };
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      throw new UdiError('UDI_MALFORMED', 'Digital Link value is not valid percent-encoding');
    }
  };
  for (let i = 0; i < path.length; i += 2) put(fields, alias[path[i]!] ?? path[i]!, decode(path[i + 1]!));
  for (const [k, v] of url.searchParams) {
    const ai = alias[k] ?? k;
    if (/^[0-9]{2,4}$/.test(ai)) put(fields, ai, v);
  }
  // GTIN-8/12/13 are written without padding in Digital Links.
  const g = fields.get('01');
  if (g && /^[0-9]{8}$|^[0-9]{12,13}$/.test(g)) fields.set('01', g.padStart(14, '0'));
  return build(fields);
}

/** Parses any supported form. Input is bounded before any work is done. */
export function parseUdi(input: string): Udi {
  if (typeof input !== 'string') throw new UdiError('UDI_MALFORMED', 'a UDI must be a string');
  if (input.length > MAX_UDI_INPUT) throw new UdiError('UDI_TOO_LONG', `a UDI is at most ${MAX_UDI_INPUT} characters`);
  // Scanners in keyboard mode may send a trailing newline; GS may arrive as the text "<GS>".
  const text = input.replace(/[\r\n]+$/, '').replace(/^\s+|\s+$/g, '').replace(/<GS>|\\x1[dD]|\\u001[dD]/g, GS);
  if (text.length === 0) throw new UdiError('UDI_EMPTY', 'no UDI given');
  if (/^https?:\/\//i.test(text)) return parseDigitalLink(text);
  if (text.startsWith('(')) return parseHumanReadable(text);
  if (/^(\][A-Za-z][0-9])?\u001d?[0-9]{2}/.test(text)) return parseRaw(text);
  throw new UdiError('UDI_MALFORMED', 'not a GS1 element string, raw barcode text or Digital Link URI');
}

export function formatUdi(u: Udi): string {
  const value: Record<Ai, string | undefined> = { '01': u.gtin, '11': u.productionDate, '17': u.expiryDate, '10': u.lot, '21': u.serial };
  return ORDER.filter((ai) => value[ai] !== undefined).map((ai) => `(${ai})${value[ai]}`).join('');
}

/** The canonical device identifier "(01)<GTIN>(21)<serial>". */
export function deviceKey(u: Udi): string {
  if (u.serial === undefined) throw new UdiError('UDI_MISSING_SERIAL', 'a device UDI needs a serial number (21)');
  return `(01)${u.gtin}(21)${u.serial}`;
}

export function normaliseDeviceUdi(input: string): string {
  return deviceKey(parseUdi(input));
}
