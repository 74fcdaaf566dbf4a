/**
 * UDI parsing for the three FDA-accredited issuing agencies (FDA, "UDI formats by FDA-Accredited
 * Issuing Agency", v1.3, 2017):
 *
 * - GS1: human-readable element strings "(01)…(21)…", raw scanner text with FNC1/GS (0x1D)
 *   separators, GS1 Digital Link URIs and a bare GTIN. Every AI of the GS1 General Specifications
 *   is understood (kept in `otherAis` when it is not one of 01, 11, 17, 10, 21); unknown but
 *   well-formed AIs are skipped where the element's end is certain.
 * - HIBCC: HIBC LIC Supplier Labeling Standard (ANSI/HIBC 2.x) primary and secondary data
 *   structures, combined in one symbol ("/") or on separate lines, with the modulo 43 check.
 * - ICCBBA: ISBT 128 data structures for medical devices (ST-001 §2.4, ST-011): Processor Product
 *   Identification Code "=/", Product Divisions (serial) "=,", Donation Identification Number "=",
 *   dates "=>", "&>", "=}", "&}", MPHO lot "&,1", optionally behind a compound message "=+".
 *
 * A device (not a product) is identified by `deviceKey`, which needs a serial:
 *   GS1    (01)<GTIN-14>(21)<serial>
 *   HIBCC  hibc:+<LIC><PCN><U/M>/<serial>
 *   ICCBBA isbt128:<PPIC>/<serial>            or, with a DIN, isbt128:<PPIC>/<DIN>/<serial>
 * Each key parses back to itself. Lot and dates describe production, not identity.
 *
 * `formatUdi` gives the whole UDI in one canonical, agency-native form: GS1 AIs in the order
 * 01, 11, 17, 10, 21; HIBC as one combined symbol with its check character; ISBT 128 as the
 * data structures in the order =/ =, = => &> =} &} &,1.
 *
 * Browser-safe: no Node APIs. Any string input either parses or throws a UdiError.
 */
import { PedigreeError } from '../errors.js';

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
  | 'UDI_MISSING_SERIAL'
  | 'UDI_MISSING_DI'
  | 'UDI_LINK_MISMATCH'
  | 'UDI_UNKNOWN_DATA_IDENTIFIER'
  | 'UDI_DUPLICATE_FIELD';

export class UdiError extends PedigreeError<UdiErrorCode> {
  override readonly name = 'UdiError';
}

export type UdiIssuer = 'GS1' | 'HIBCC' | 'ICCBBA';

export interface Gs1Udi {
  /** Always set by `parseUdi`; optional so that plain `{ gtin, serial }` objects still format. */
  readonly issuer?: 'GS1';
  readonly gtin: string;
  readonly serial?: string;
  readonly lot?: string;
  /** YYMMDD as encoded. */
  readonly productionDate?: string;
  readonly expiryDate?: string;
  /** Further AIs of the GS1 AI table found on the label, in label order; not part of any canonical form. */
  readonly otherAis?: ReadonlyArray<readonly [ai: string, value: string]>;
}

export type HibcDateFormat = 'MMYY' | 'MMDDYY' | 'YYMMDD' | 'YYMMDDHH' | 'YYJJJ' | 'YYJJJHH' | 'YYYYMMDD';

export interface HibcUdi {
  readonly issuer: 'HIBCC';
  /** Labeler Identification Code: a letter and three letters or digits. */
  readonly lic: string;
  /** Product or catalogue number, 1-18 letters or digits. */
  readonly pcn: string;
  /** Unit of measure digit (packaging level, 0 = unit of use). */
  readonly unitOfMeasure: string;
  readonly serial?: string;
  readonly lot?: string;
  /** As encoded, in `expiryDateFormat`. */
  readonly expiryDate?: string;
  readonly expiryDateFormat?: HibcDateFormat;
  /** YYYYMMDD (supplemental data 16D). */
  readonly productionDate?: string;
  /** Two or five digits, as encoded. */
  readonly quantity?: string;
}

export interface IsbtUdi {
  readonly issuer: 'ICCBBA';
  /** Processor Product Identification Code: FIN(P) 5 + processor's product code 6 + product description code 5. */
  readonly ppic: string;
  /** Product Divisions [DS032], the device serial number: 6 letters or digits. */
  readonly serial?: string;
  /** Donation Identification Number without its flag characters (13). */
  readonly din?: string;
  /** The DIN's two flag characters when they are not the default "00". */
  readonly dinFlags?: string;
  /** cyyjjj, or cyyjjjhhmm when the label carries a time. */
  readonly expiryDate?: string;
  readonly productionDate?: string;
  /** MPHO lot number [DS035], 18 characters. */
  readonly lot?: string;
}

export type Udi = Gs1Udi | HibcUdi | IsbtUdi;

export const MAX_UDI_INPUT = 512;

const GS = '\u001d';
const SYMBOLOGY_ID = /^\][A-Za-z][0-9]/; // AIM symbology identifier such as ]d2, ]C1, ]Q3

const FORMS =
  'GS1 "(01)<GTIN-14>(21)<serial>" (or its raw scanner text or Digital Link), ' +
  'HIBC "+<LIC><PCN><U/M>/$+<serial><check>", or ISBT 128 "=/<PPIC>=,<serial>"';

// ───────────────────────────────────────────── GS1 ─────────────────────────────────────────────

type CoreAi = '01' | '10' | '11' | '17' | '21';
const CORE_NAMES: Record<CoreAi, string> = { '01': 'GTIN', '10': 'lot', '11': 'production date', '17': 'expiry date', '21': 'serial' };
const CORE_MAX: Record<string, number> = { '10': 20, '21': 20 };
const ORDER: CoreAi[] = ['01', '11', '17', '10', '21'];
const isCore = (ai: string): ai is CoreAi => ai in CORE_NAMES;

/** GS1 AI encodable character set 82 (GS1 General Specifications §7.11, Figure 7.11-1). */
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;
/** Character set 39 (§7.11, Figure 7.11-2). */
const CSET39 = /^[#\-/0-9A-Z]*$/;
/** Character set 64, base64url with padding (§7.11, Figure 7.11-3). */
const CSET64 = /^[-0-9A-Z_a-z=]*$/;

/**
 * Formats of the GS1 Application Identifiers, transcribed from the AI table of the GS1 General
 * Specifications §3.2 (as maintained in the GS1 Barcode Syntax Dictionary). Entry: AI or AI range,
 * "*" for element strings of predefined length (no FNC1 needed) or ":" (FNC1 needed unless last),
 * then "+"-joined components: N digits, X CSET 82, Y CSET 39, Z CSET 64; "N6" exactly 6,
 * "X..20" 1 to 20 (always the last component), "[…]" optional.
 */
const AI_FORMATS = `
00*N18 01-03*N14 10:X..20 11-13*N6 15-17*N6 20*N2 21-22:X..20 235:X..28 240-241:X..30 242:N..6
243:X..20 250-251:X..30 253:N13+[X..17] 254:X..20 255:N13+[N..12] 30:N..8 37:N..8 3900-3909:N..15
3910-3919:N3+N..15 3920-3929:N..15 3930-3939:N3+N..15 3940-3943:N4 3950-3955:N6 400-401:X..30 402:N17
403:X..30 410-417*N13 420:X..20 421:N3+X..9 422:N3 423:N3+[N3]+[N3]+[N3]+[N3] 424:N3
425:N3+[N3]+[N3]+[N3]+[N3] 426:N3 427:X..3 4300-4301:X..35 4302-4306:X..70 4307:X2 4308:X..30
4309:N10+N10 4310-4311:X..35 4312-4316:X..70 4317:X2 4318:X..20 4319:X..30 4320:X..35 4321-4323:N1
4324-4325:N6+N4 4326:N6 4330-4333:N6+[X1] 7001:N13 7002:X..30 7003:N6+N4 7004:N..4 7005:X..12
7006:N6 7007:N6+[N6] 7008:X..3 7009:X..10 7010:X..2 7011:N6+[N4] 7020-7022:X..20 7023:X..30
7030-7039:N3+X..27 7040:N1+X1+X1+X1 7041:X..4 710-717:X..20 7230-7239:X2+X..28 7240:X..20 7241:N2
7242:X..25 7250:N8 7251:N8+N4 7252:N1 7253-7254:X..40 7255:X..10 7256:X..90 7257:X..70 7258:X3
7259:X..40 8001:N4+N5+N3+N1+N1 8002:X..20 8003:N1+N13+[X..16] 8004:X..30 8005:N6 8006:N14+N4
8007:X..34 8008:N6+N2+[N2]+[N2] 8009:X..50 8010:Y..30 8011:N..12 8012:X..20 8013-8014:X..25
8017-8018:N18 8019:N..10 8020:X..25 8026:N14+N4 8030:Z..90 8040-8041:N15 8042:N32 8043:N18+[N..2]
8110:X..70 8111:N4 8112:X..70 8200:X..70 90:X..30 91-99:X..90`;
/** Measures 310n-369n (§3.6): families listed here, each with n = 0…5 decimal places, N6, predefined length. */
const MEASURE_FAMILIES = '310-316 320-337 340-357 360-369';

/**
 * Element strings of predefined length, by the AI's first two digits: data length (GS1 General
 * Specifications §7.8.5, "element strings with predefined length"). GS1 keeps this table fixed,
 * so an unassigned AI with one of these prefixes still has a known length; every other element
 * string ends at FNC1 (GS) or at the end of the data.
 */
const PREDEFINED: Record<string, number> = {
  '00': 18, '01': 14, '02': 14, '03': 14, '04': 16, '11': 6, '12': 6, '13': 6, '14': 6, '15': 6, '16': 6,
  '17': 6, '18': 6, '19': 6, '20': 2, '31': 6, '32': 6, '33': 6, '34': 6, '35': 6, '36': 6, '41': 13,
};

interface Component {
  readonly type: 'N' | 'X' | 'Y' | 'Z';
  readonly min: number;
  readonly max: number;
  readonly optional: boolean;
}
/** AI → data format. */
const AI_TABLE = new Map<string, Component[]>();
/** First two digits → length of the AI itself (2, 3 or 4), as the AI table assigns them. */
const AI_LENGTH: Record<string, number> = { '04': 2, '14': 2, '18': 2, '19': 2 };

function loadAiTable(): void {
  const parseSpec = (spec: string): Component[] =>
    spec.split('+').map((c) => {
      const m = /^(\[)?([NXYZ])(\.\.)?([0-9]+)\]?$/.exec(c)!;
      const n = Number(m[4]);
      return { type: m[2] as Component['type'], min: m[3] ? 1 : n, max: n, optional: m[1] !== undefined };
    });
  const add = (ai: string, spec: Component[]) => {
    AI_TABLE.set(ai, spec);
    AI_LENGTH[ai.slice(0, 2)] = ai.length;
  };
  for (const entry of AI_FORMATS.trim().split(/\s+/)) {
    const m = /^([0-9]+)(?:-([0-9]+))?[*:](.+)$/.exec(entry)!;
    const spec = parseSpec(m[3]!);
    const from = Number(m[1]);
    const to = m[2] ? Number(m[2]) : from;
    for (let n = from; n <= to; n++) add(String(n).padStart(m[1]!.length, '0'), spec);
  }
  for (const range of MEASURE_FAMILIES.split(' ')) {
    const [from, to] = range.split('-').map(Number) as [number, number];
    for (let f = from; f <= to; f++) for (let d = 0; d <= 5; d++) add(`${f}${d}`, parseSpec('N6'));
  }
}
loadAiTable();

export function gtinCheckDigit(first13: string): number {
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += Number(first13[12 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10;
}

/**
 * A device model for the firmware update gate: a GTIN-14 with a right check digit (what a GS1
 * UDI's (01) field holds). Throws UDI_BAD_GTIN or UDI_CHECK_DIGIT with the reason.
 */
export function checkModelGtin(model: string): string {
  if (typeof model !== 'string' || !/^[0-9]{14}$/.test(model)) throw new UdiError('UDI_BAD_GTIN', `a model is its GTIN-14: 14 digits, as in the (01) field of the UDI (e.g. 09506000134352), not ${JSON.stringify(String(model).slice(0, 40))}`);
  const want = gtinCheckDigit(model.slice(0, 13));
  if (Number(model[13]) !== want) throw new UdiError('UDI_CHECK_DIGIT', `GTIN ${model} has check digit ${model[13]}, expected ${want}`);
  return model;
}

/** Checks an AI other than 01/10/11/17/21 against its format in the AI table. */
function checkOtherAi(ai: string, value: string, spec: readonly Component[]): void {
  const sets = { N: /^[0-9]*$/, X: CSET82, Y: CSET39, Z: CSET64 } as const;
  let at = 0;
  for (const c of spec) {
    if (at === value.length && c.optional) break;
    const part = value.slice(at, at + c.max);
    if (part.length < c.min) throw new UdiError('UDI_MALFORMED', `(${ai}) is too short: ${describeSpec(spec)}`);
    if (!sets[c.type].test(part)) {
      throw new UdiError('UDI_BAD_CHARACTER', `(${ai}) "${value}" has characters GS1 does not allow there: ${describeSpec(spec)}`);
    }
    at += part.length;
  }
  if (at < value.length) throw new UdiError('UDI_FIELD_TOO_LONG', `(${ai}) is too long: ${describeSpec(spec)}, got ${value.length} characters`);
}

function describeSpec(spec: readonly Component[]): string {
  const kind = { N: 'digits', X: 'characters', Y: 'characters of set 39', Z: 'base64url characters' } as const;
  return spec
    .map((c) => `${c.optional ? 'optionally ' : ''}${c.min === c.max ? c.max : `up to ${c.max}`} ${kind[c.type]}`)
    .join(' then ');
}

function checkCoreValue(ai: CoreAi, value: string): void {
  const name = CORE_NAMES[ai];
  if (ai === '01') {
    // GTIN-14 with its check digit (GS1 General Specifications §7.9.1).
    if (!/^[0-9]{14}$/.test(value)) throw new UdiError('UDI_BAD_GTIN', `GTIN must be 14 digits, got "${value}"`);
    const want = gtinCheckDigit(value.slice(0, 13));
    if (Number(value[13]) !== want) throw new UdiError('UDI_CHECK_DIGIT', `GTIN ${value} has check digit ${value[13]}, expected ${want}`);
  } else if (ai === '11' || ai === '17') {
    const m = /^([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(value);
    const month = m ? Number(m[2]) : 0;
    const day = m ? Number(m[3]) : 99;
    // Day 00 means "end of month" in GS1 dates (§7.12).
    if (!m || month < 1 || month > 12 || day > 31) throw new UdiError('UDI_BAD_DATE', `${name} must be YYMMDD, got "${value}"`);
  } else {
    if (value.length === 0) throw new UdiError('UDI_MALFORMED', `${name} is empty`);
    if (value.length > CORE_MAX[ai]!) throw new UdiError('UDI_FIELD_TOO_LONG', `${name} is at most ${CORE_MAX[ai]} characters, got ${value.length}`);
    if (!CSET82.test(value)) throw new UdiError('UDI_BAD_CHARACTER', `${name} "${value}" has characters GS1 does not allow`);
  }
}

type Fields = Map<string, string>;

/**
 * Records an element string. AIs of the table are kept; an AI that is well formed but not in the
 * table is ignored. An AI whose length contradicts its first two digits is refused.
 */
function put(fields: Fields, ai: string, value: string): void {
  const want = AI_LENGTH[ai.slice(0, 2)];
  if (want !== undefined && want !== ai.length) {
    throw new UdiError('UDI_UNKNOWN_AI', `(${ai}) is not a GS1 application identifier: AIs beginning ${ai.slice(0, 2)} have ${want} digits`);
  }
  if (!isCore(ai) && !AI_TABLE.has(ai)) return;
  if (fields.has(ai)) throw new UdiError('UDI_DUPLICATE_AI', `(${ai}) appears twice`);
  fields.set(ai, value);
}

function buildGs1(fields: Fields): Gs1Udi {
  for (const [ai, v] of fields) {
    if (isCore(ai)) checkCoreValue(ai, v);
    else checkOtherAi(ai, v, AI_TABLE.get(ai)!);
  }
  const gtin = fields.get('01');
  if (!gtin) throw new UdiError('UDI_MISSING_GTIN', 'a GS1 UDI needs a GTIN (01), e.g. (01)09506000134352(21)SN0001');
  const out: { -readonly [K in keyof Gs1Udi]: Gs1Udi[K] } = { issuer: 'GS1', gtin };
  if (fields.has('21')) out.serial = fields.get('21')!;
  if (fields.has('10')) out.lot = fields.get('10')!;
  if (fields.has('11')) out.productionDate = fields.get('11')!;
  if (fields.has('17')) out.expiryDate = fields.get('17')!;
  const other = [...fields].filter(([ai]) => !isCore(ai));
  if (other.length > 0) out.otherAis = other;
  return out;
}

function parseHumanReadable(input: string): Gs1Udi {
  // Labels often print a space between element strings; GS1 values never contain spaces.
  const text = input.replace(/\((\d{2,4})\)\s+/g, '($1)').replace(/\s+\((?=\d{2,4}\))/g, '(');
  const fields: Fields = new Map();
  // "(" and ")" are in CSET 82: a "(" starts the next element string only when an AI in brackets follows.
  const re = /\(([0-9]{2,4})\)((?:[^(]|\((?![0-9]{2,4}\)))*)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    put(fields, m[1]!, m[2]!);
    consumed = re.lastIndex;
  }
  if (consumed !== text.length) throw new UdiError('UDI_MALFORMED', 'expected (AI)value pairs such as (01)09506000134352(21)SN0001');
  return buildGs1(fields);
}

function parseRaw(text: string): Gs1Udi {
  const fields: Fields = new Map();
  let s = text.replace(SYMBOLOGY_ID, '');
  if (s.startsWith(GS)) s = s.slice(1);
  let i = 0;
  while (i < s.length) {
    if (s[i] === GS) {
      i++; // a redundant separator is tolerated
      continue;
    }
    const prefix = s.slice(i, i + 2);
    if (!/^[0-9]{2}$/.test(prefix)) throw new UdiError('UDI_MALFORMED', `expected an application identifier at position ${i + 1}`);
    const fixed = PREDEFINED[prefix];
    const aiLength = AI_LENGTH[prefix];
    if (fixed !== undefined) {
      // Predefined length (§7.8.5): the element ends after a known number of characters.
      const ai = s.slice(i, i + aiLength!);
      const value = s.slice(i + ai.length, i + ai.length + fixed);
      if (!/^[0-9]+$/.test(ai) || ai.length !== aiLength || value.length !== fixed || value.includes(GS)) {
        throw new UdiError('UDI_MALFORMED', `(${ai}) needs ${fixed} digits`);
      }
      put(fields, ai, value);
      i += ai.length + fixed;
      if (s[i] === GS) i++; // a redundant separator after a fixed-length field is tolerated
    } else {
      // Any other element string ends at FNC1 (GS) or at the end of the data; that holds for
      // unknown AIs too, so they can be skipped safely.
      const end = s.indexOf(GS, i);
      const element = end < 0 ? s.slice(i) : s.slice(i, end);
      if (aiLength !== undefined) {
        const ai = element.slice(0, aiLength);
        if (!/^[0-9]+$/.test(ai) || ai.length !== aiLength) throw new UdiError('UDI_MALFORMED', `expected a ${aiLength}-digit application identifier at position ${i + 1}`);
        put(fields, ai, element.slice(aiLength));
      }
      i = end < 0 ? s.length : end + 1;
    }
  }
  return buildGs1(fields);
}

function parseDigitalLink(text: string): Gs1Udi {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UdiError('UDI_MALFORMED', 'not a valid GS1 Digital Link URI');
  }
  const fields: Fields = new Map();
  const parts = url.pathname.split('/').filter((p) => p.length > 0);
  const start = parts.findIndex((p) => p === '01' || p === 'gtin');
  if (start < 0) throw new UdiError('UDI_MISSING_GTIN', 'Digital Link URI has no /01/<GTIN> path, e.g. https://id.gs1.org/01/09506000134352/21/SN0001');
  const path = parts.slice(start);
  if (path.length % 2 !== 0) throw new UdiError('UDI_MALFORMED', 'Digital Link path must be /AI/value pairs');
  const alias: Record<string, string> = { gtin: '01', cpv: '22', lot: '10', ser: '21', exp: '17' };
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      throw new UdiError('UDI_MALFORMED', 'Digital Link value is not valid percent-encoding');
    }
  };
  for (let i = 0; i < path.length; i += 2) {
    const key = alias[path[i]!] ?? path[i]!;
    if (!/^[0-9]{2,4}$/.test(key)) throw new UdiError('UDI_UNKNOWN_AI', `Digital Link path key "${key.slice(0, 20)}" is not a GS1 application identifier`);
    put(fields, key, decode(path[i + 1]!));
  }
  // Other query parameters are allowed by GS1 Digital Link and ignored here.
  for (const [k, v] of url.searchParams) {
    const ai = alias[k] ?? k;
    if (/^[0-9]{2,4}$/.test(ai) && (isCore(ai) || AI_TABLE.has(ai))) put(fields, ai, v);
  }
  // GTIN-8/12/13 are written without padding in Digital Links.
  const g = fields.get('01');
  if (g && /^[0-9]{8}$|^[0-9]{12,13}$/.test(g)) fields.set('01', g.padStart(14, '0'));
  return buildGs1(fields);
}

/** A GTIN-8/12/13/14 on its own, with a valid check digit: a product, never a device. */
function bareGtin(text: string): Gs1Udi | undefined {
  if (!/^[0-9]{8}$|^[0-9]{12,14}$/.test(text)) return undefined;
  const gtin = text.padStart(14, '0');
  return gtinCheckDigit(gtin.slice(0, 13)) === Number(gtin[13]) ? { issuer: 'GS1', gtin } : undefined;
}

// ──────────────────────────────────────────── HIBCC ────────────────────────────────────────────

/** HIBC character values for the modulo 43 check (ANSI/HIBC 2.6, Modulus 43 Check Character). */
const HIBC_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%';

/** The HIBC modulo 43 check character of `data` (which starts with the "+" flag). */
export function hibcCheckCharacter(data: string): string {
  let sum = 0;
  for (const ch of data) {
    const v = HIBC_CHARS.indexOf(ch);
    if (v < 0) throw new UdiError('UDI_BAD_CHARACTER', `"${ch}" is not a HIBC character (0-9, A-Z, - . space $ / + %)`);
    sum += v;
  }
  return HIBC_CHARS[sum % 43]!;
}

const HIBC_FIELD = /^[A-Z0-9]*$/;
const HIBC_FORM = 'a HIBC label looks like +A123BJC5D6E71/$+SN0001<check> (primary +<LIC><PCN><U/M>, secondary $+<serial>)';

interface HibcParts {
  primary?: { lic: string; pcn: string; unitOfMeasure: string };
  /** Check character of the primary structure, which secondaries on their own carry as link character. */
  primaryCheck?: string;
  links: string[];
  serial?: string;
  lot?: string;
  expiry?: { date: string; format: HibcDateFormat };
  productionDate?: string;
  quantity?: string;
}

function setOnce(p: HibcParts, key: 'serial' | 'lot' | 'productionDate' | 'quantity', value: string, what: string): void {
  const previous = p[key];
  if (previous !== undefined && previous !== value) throw new UdiError('UDI_DUPLICATE_FIELD', `the HIBC label has two different ${what}: ${previous} and ${value}`);
  p[key] = value;
}

function hibcValue(value: string, what: 'serial' | 'lot', min: number): string {
  if (!HIBC_FIELD.test(value)) throw new UdiError('UDI_BAD_CHARACTER', `HIBC ${what} "${value}" may hold only capital letters and digits`);
  if (value.length > 18) throw new UdiError('UDI_FIELD_TOO_LONG', `HIBC ${what} is at most 18 characters, got ${value.length}`);
  if (value.length < min) throw new UdiError('UDI_MALFORMED', `HIBC ${what} is empty`);
  return value;
}

const HIBC_DATES: Record<string, { format: HibcDateFormat; length: number }> = {
  '2': { format: 'MMDDYY', length: 6 },
  '3': { format: 'YYMMDD', length: 6 },
  '4': { format: 'YYMMDDHH', length: 8 },
  '5': { format: 'YYJJJ', length: 5 },
  '6': { format: 'YYJJJHH', length: 7 },
};
const HIBC_DATE_CODE: Record<HibcDateFormat, string> = { MMYY: '', MMDDYY: '2', YYMMDD: '3', YYMMDDHH: '4', YYJJJ: '5', YYJJJHH: '6', YYYYMMDD: '' };

/** Whether `d` is a valid date in `format`; two-digit years are taken as they come. */
function validHibcDate(d: string, format: HibcDateFormat): boolean {
  if (!/^[0-9]+$/.test(d) || d.length !== format.length) return false;
  const field = (letter: string) => Number(d.slice(format.indexOf(letter), format.lastIndexOf(letter) + 1));
  const okMonth = !format.includes('M') || (field('M') >= 1 && field('M') <= 12);
  const okDay = !format.includes('D') || (field('D') >= 1 && field('D') <= 31);
  const okJulian = !format.includes('J') || (field('J') >= 1 && field('J') <= 366);
  const okHour = !format.includes('H') || field('H') <= 23;
  return okMonth && okDay && okJulian && okHour;
}

/** Reads an expiry date after "$$" by its format digit; `undefined` when the digit is not 0-7 or the date is not valid. */
function readHibcDate(s: string): { expiry?: { date: string; format: HibcDateFormat }; rest: string } | undefined {
  const c = s[0];
  if (c === '0' || c === '1') {
    const date = s.slice(0, 4);
    return validHibcDate(date, 'MMYY') ? { expiry: { date, format: 'MMYY' }, rest: s.slice(4) } : undefined;
  }
  if (c === '7') return { rest: s.slice(1) };
  const f = c === undefined ? undefined : HIBC_DATES[c];
  if (!f) return undefined;
  const date = s.slice(1, 1 + f.length);
  return validHibcDate(date, f.format) ? { expiry: { date, format: f.format }, rest: s.slice(1 + f.length) } : undefined;
}

/**
 * One secondary data structure, without "+", link and check characters (ANSI/HIBC 2.6,
 * Secondary Data Structure): "YYJJJ<lot>" (original format), "$<lot>", "$+<serial>",
 * "$$<date><lot>" or "$$+<date><serial>", where the date starts with a format digit: 0/1 MMYY,
 * 2 MMDDYY, 3 YYMMDD, 4 YYMMDDHH, 5 YYJJJ, 6 YYJJJHH, 7 none; 8 and 9 put a quantity of 2 or 5
 * digits first, optionally followed by such a date.
 */
function readHibcSecondary(seg: string, p: HibcParts): void {
  const setExpiry = (e: { date: string; format: HibcDateFormat } | undefined) => {
    if (!e) return;
    if (p.expiry && (p.expiry.date !== e.date || p.expiry.format !== e.format)) throw new UdiError('UDI_DUPLICATE_FIELD', 'the HIBC label has two different expiry dates');
    p.expiry = e;
  };
  const keep = (what: 'serial' | 'lot', value: string) => {
    const v = hibcValue(value, what, what === 'serial' ? 1 : 0);
    if (v !== '') setOnce(p, what, v, `${what} numbers`);
  };
  if (/^[0-9]{5}/.test(seg)) {
    const date = seg.slice(0, 5);
    if (!validHibcDate(date, 'YYJJJ')) throw new UdiError('UDI_BAD_DATE', `HIBC date must be YYJJJ, got "${date}"`);
    setExpiry({ date, format: 'YYJJJ' });
    keep('lot', seg.slice(5));
    return;
  }
  const m = /^(\$\$\+|\$\$|\$\+|\$)(.*)$/.exec(seg);
  if (!m) throw new UdiError('UDI_MALFORMED', `"${seg.slice(0, 20)}" is not a HIBC secondary data structure; ${HIBC_FORM}`);
  const what = m[1]!.endsWith('+') ? 'serial' : 'lot';
  let rest = m[2]!;
  if (m[1]!.startsWith('$$')) {
    const q = rest[0] === '8' ? 2 : rest[0] === '9' ? 5 : 0;
    if (q > 0) {
      const quantity = rest.slice(1, 1 + q);
      if (!/^[0-9]+$/.test(quantity) || quantity.length !== q) throw new UdiError('UDI_MALFORMED', `HIBC quantity after $$${rest[0]} must be ${q} digits`);
      setOnce(p, 'quantity', quantity, 'quantities');
      rest = rest.slice(1 + q);
      // After a quantity the date is optional: take it when a valid one is there.
      const d = readHibcDate(rest);
      if (d) {
        setExpiry(d.expiry);
        rest = d.rest;
      }
    } else {
      const d = readHibcDate(rest);
      if (!d) {
        throw new UdiError(
          /^[0-6]/.test(rest) ? 'UDI_BAD_DATE' : 'UDI_MALFORMED',
          /^[0-6]/.test(rest)
            ? `HIBC expiry date after ${m[1]} is not valid for format digit ${rest[0]}`
            : `${m[1]} must be followed by a date format digit 0-9 (7 = no date), got "${rest.slice(0, 10)}"`,
        );
      }
      setExpiry(d.expiry);
      rest = d.rest;
    }
  }
  keep(what, rest);
}

/**
 * Supplemental data after the secondary in a 2-D symbol (ANSI/HIBC 2.6): "/S<serial>",
 * "/16D<YYYYMMDD>" date of manufacture, "/14D<YYYYMMDD>" expiry. Other fields with a data
 * identifier (digits and a letter) are ignored.
 */
function readHibcSupplemental(seg: string, p: HibcParts): void {
  const m = /^([0-9]{0,3}[A-Z])(.*)$/.exec(seg);
  if (!m) throw new UdiError('UDI_MALFORMED', `"${seg.slice(0, 20)}" is not HIBC supplemental data such as /S<serial> or /16D<YYYYMMDD>`);
  const di = m[1]!;
  const value = m[2]!;
  if (di === 'S') setOnce(p, 'serial', hibcValue(value, 'serial', 1), 'serial numbers');
  else if (di === '16D' || di === '14D') {
    if (!validHibcDate(value, 'YYYYMMDD')) throw new UdiError('UDI_BAD_DATE', `HIBC /${di} date must be YYYYMMDD, got "${value.slice(0, 12)}"`);
    if (di === '16D') setOnce(p, 'productionDate', value, 'production dates');
    else if (p.expiry && (p.expiry.format !== 'YYYYMMDD' || p.expiry.date !== value)) throw new UdiError('UDI_DUPLICATE_FIELD', 'the HIBC label has two different expiry dates');
    else p.expiry = { date: value, format: 'YYYYMMDD' };
  }
}

/** Primary data: "<LIC><PCN><U/M>" without the "+" (ANSI/HIBC 2.6, Primary Data Structure). */
function readHibcPrimary(s: string): NonNullable<HibcParts['primary']> {
  if (!/^[A-Z]/.test(s)) throw new UdiError('UDI_MALFORMED', `a HIBC Labeler Identification Code starts with a letter; ${HIBC_FORM}`);
  if (!HIBC_FIELD.test(s)) throw new UdiError('UDI_BAD_CHARACTER', `HIBC primary data "${s.slice(0, 30)}" may hold only capital letters and digits`);
  if (s.length < 6) throw new UdiError('UDI_MALFORMED', `HIBC primary data needs a 4-character LIC, a product number and a unit-of-measure digit; ${HIBC_FORM}`);
  if (s.length > 23) throw new UdiError('UDI_FIELD_TOO_LONG', `HIBC product number is at most 18 characters, got ${s.length - 5}`);
  const unitOfMeasure = s[s.length - 1]!;
  if (!/[0-9]/.test(unitOfMeasure)) throw new UdiError('UDI_MALFORMED', `the HIBC unit of measure (last character before the check character) must be a digit, got "${unitOfMeasure}"`);
  return { lic: s.slice(0, 4), pcn: s.slice(4, -1), unitOfMeasure };
}

/** One HIBC symbol's data, from "+" to the check character. */
function readHibcSymbol(data: string, p: HibcParts): void {
  for (const ch of data) {
    if (!HIBC_CHARS.includes(ch)) {
      throw new UdiError('UDI_BAD_CHARACTER', `"${ch}" is not a HIBC character (HIBC uses 0-9, capital letters and - . space $ / + %); ${HIBC_FORM}`);
    }
  }
  if (!data.startsWith('+')) throw new UdiError('UDI_MALFORMED', `each HIBC symbol starts with "+", got "${data.slice(0, 20)}"; ${HIBC_FORM}`);
  if (data.length < 3) throw new UdiError('UDI_MALFORMED', `HIBC data is too short; ${HIBC_FORM}`);
  const check = data[data.length - 1]!;
  const want = hibcCheckCharacter(data.slice(0, -1));
  if (check !== want) {
    const hint = data.indexOf('+', 1) > 0 ? '; if two HIBC symbols were read back to back, give each its own line' : '';
    throw new UdiError('UDI_CHECK_DIGIT', `HIBC check character is "${check}", expected "${want}" (modulo 43 over "${data.slice(0, -1)}")${hint}`);
  }
  const body = data.slice(1, -1);
  if (/^[$0-9]/.test(body)) {
    // A secondary on its own: its last character links it to the primary's check character.
    p.links.push(body[body.length - 1]!);
    const [secondary, ...supplemental] = body.slice(0, -1).split('/');
    readHibcSecondary(secondary!, p);
    for (const seg of supplemental) readHibcSupplemental(seg, p);
    return;
  }
  // A primary, possibly combined with secondary and supplemental data ("/"-separated, ANSI/HIBC 2.6).
  const [primary, ...segments] = body.split('/');
  const read = readHibcPrimary(primary!);
  if (p.primary && (p.primary.lic !== read.lic || p.primary.pcn !== read.pcn || p.primary.unitOfMeasure !== read.unitOfMeasure)) {
    throw new UdiError('UDI_DUPLICATE_FIELD', 'two different HIBC primary data structures were given');
  }
  p.primary = read;
  p.primaryCheck = hibcCheckCharacter(`+${primary}`);
  segments.forEach((seg, i) => {
    if (seg === '') throw new UdiError('UDI_MALFORMED', `empty field after "/" in HIBC data; ${HIBC_FORM}`);
    if (/^[$]/.test(seg) || (i === 0 && /^[0-9]{5}/.test(seg))) readHibcSecondary(seg, p);
    else readHibcSupplemental(seg, p);
  });
}

/** HIBC LIC data: one symbol per line (scanned in any order), each "+…<check>", optionally in "*…*". */
function parseHibc(raw: string): HibcUdi {
  const p: HibcParts = { links: [] };
  for (const rawLine of raw.split(/\r\n|\r|\n/)) {
    const line = hibcLine(rawLine);
    if (line !== '') readHibcSymbol(line, p);
  }
  if (!p.primary) {
    throw new UdiError('UDI_MISSING_DI', 'HIBC secondary data (lot, serial, dates) needs its primary data +<LIC><PCN><U/M><check>, on another line or combined as +<LIC><PCN><U/M>/<secondary><check>');
  }
  for (const link of p.links) {
    if (link !== p.primaryCheck) {
      throw new UdiError('UDI_LINK_MISMATCH', `the HIBC secondary's link character "${link}" does not match the primary's check character "${p.primaryCheck}": the two symbols are from different labels`);
    }
  }
  const out: { -readonly [K in keyof HibcUdi]: HibcUdi[K] } = { issuer: 'HIBCC', ...p.primary };
  if (p.serial !== undefined) out.serial = p.serial;
  if (p.lot !== undefined) out.lot = p.lot;
  if (p.expiry) {
    out.expiryDate = p.expiry.date;
    out.expiryDateFormat = p.expiry.format;
  }
  if (p.productionDate !== undefined) out.productionDate = p.productionDate;
  if (p.quantity !== undefined) out.quantity = p.quantity;
  return out;
}

/**
 * One scanned or typed HIBC line as symbol data. A space is a valid check character, so a
 * trailing space is taken as the check character when the line is valid only that way; trailing
 * white space is otherwise insignificant. Captions are printed between asterisks, with "_" for a
 * space check character.
 */
function hibcLine(rawLine: string): string {
  const line = rawLine.replace(/^\s+/, '').replace(SYMBOLOGY_ID, '');
  const trimmed = line.replace(/\s+$/, '');
  const checks = (d: string) => d.length > 1 && [...d].every((ch) => HIBC_CHARS.includes(ch)) && hibcCheckCharacter(d.slice(0, -1)) === d[d.length - 1];
  const spaceIsCheck = trimmed !== line && !checks(trimmed) && checks(`${trimmed} `);
  return (spaceIsCheck ? `${trimmed} ` : trimmed).replace(/^\*(.*)\*$/, '$1').replace(/_/g, ' ');
}

function formatHibc(u: HibcUdi): string {
  const segments: string[] = [];
  const quantity = u.quantity === undefined ? '' : `${u.quantity.length === 2 ? '8' : '9'}${u.quantity}`;
  const inSecondary = u.expiryDate !== undefined && u.expiryDateFormat !== undefined && u.expiryDateFormat !== 'YYYYMMDD';
  const date = inSecondary ? `${HIBC_DATE_CODE[u.expiryDateFormat!]}${u.expiryDate}` : '7';
  const dated = quantity !== '' || inSecondary;
  let serialDone = false;
  if (u.lot !== undefined) segments.push(dated ? `$$${quantity}${date}${u.lot}` : `$${u.lot}`);
  else if (u.serial !== undefined) {
    segments.push(dated ? `$$+${quantity}${date}${u.serial}` : `$+${u.serial}`);
    serialDone = true;
  } else if (dated) segments.push(`$$${quantity}${date}`);
  if (u.serial !== undefined && !serialDone) segments.push(`S${u.serial}`);
  if (u.expiryDateFormat === 'YYYYMMDD' && u.expiryDate !== undefined) segments.push(`14D${u.expiryDate}`);
  if (u.productionDate !== undefined) segments.push(`16D${u.productionDate}`);
  const data = [`+${u.lic}${u.pcn}${u.unitOfMeasure}`, ...segments].join('/');
  return data + hibcCheckCharacter(data);
}

const HIBC_KEY = /^\+([A-Z][A-Z0-9]{3})([A-Z0-9]{1,18})([0-9])(?:\/([A-Z0-9]{1,18}))?$/;

function parseHibcKey(body: string): HibcUdi {
  const m = HIBC_KEY.exec(body);
  if (!m) throw new UdiError('UDI_MALFORMED', 'a HIBC device key looks like hibc:+A123BJC5D6E71/SN0001 (+<LIC><PCN><U/M>/<serial>)');
  const out: { -readonly [K in keyof HibcUdi]: HibcUdi[K] } = { issuer: 'HIBCC', lic: m[1]!, pcn: m[2]!, unitOfMeasure: m[3]! };
  if (m[4] !== undefined) out.serial = m[4];
  return out;
}

// ─────────────────────────────────────── ICCBBA (ISBT 128) ─────────────────────────────────────

/** ISO/IEC 7064 modulo 37-2 check value (0-36) of an ISBT 128 DIN's 13 characters. */
export function isbtCheckValue(din13: string): number {
  let p = 0;
  for (const ch of din13) {
    const v = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'.indexOf(ch);
    if (v < 0) throw new UdiError('UDI_BAD_CHARACTER', `"${ch}" cannot appear in an ISBT 128 Donation Identification Number`);
    p = ((p + v) * 2) % 37;
  }
  return (38 - p) % 37;
}

/** The ISBT 128 eye-readable check character K for a check value (0-9, A-Z, *). */
export const isbtCheckCharacter = (value: number): string => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*'[value]!;

type IsbtField = 'ppic' | 'serial' | 'din' | 'expiry' | 'production' | 'lot' | 'containerDi' | 'containerLot';
interface IsbtStructure {
  readonly field: IsbtField;
  readonly name: string;
  readonly length: number;
  readonly pattern: RegExp;
}

/** FIN: a letter other than O, or a digit 1-9, then four digits (ST-001 §2.4.1). */
const FIN = '[A-NP-Z1-9][0-9]{4}';
const JULIAN = '[0-9]{3}(?:00[1-9]|0[1-9][0-9]|[12][0-9]{2}|3[0-5][0-9]|36[0-6])';
const HHMM = '(?:[01][0-9]|2[0-3])[0-5][0-9]';

/**
 * ISBT 128 data structures used in device UDIs, by data identifier (ISBT 128 Standard Technical
 * Specification ST-001 §2.4 and ST-011 "Coding and Labeling of Medical Devices Using ISBT 128").
 * Lengths are of the data content after the data identifier.
 */
const ISBT: Record<string, IsbtStructure> = {
  // DS034 §2.4.34: FIN(P) + processor's product code (6) + product description code (letter + 4 digits).
  '=/': { field: 'ppic', name: 'Processor Product Identification Code', length: 16, pattern: new RegExp(`^${FIN}[A-Z0-9]{6}[A-Z][0-9]{4}$`) },
  // DS032 §2.4.32 Product Divisions, the serial number of a device (kept as encoded, case included).
  '=,': { field: 'serial', name: 'Product Divisions (serial number)', length: 6, pattern: /^[A-Za-z0-9]{6}$/ },
  // DS004 §2.4.4 / DS005 §2.4.5: expiry cyyjjj / cyyjjjhhmm.
  '=>': { field: 'expiry', name: 'Expiration Date', length: 6, pattern: new RegExp(`^${JULIAN}$`) },
  '&>': { field: 'expiry', name: 'Expiration Date and Time', length: 10, pattern: new RegExp(`^${JULIAN}${HHMM}$`) },
  // DS008 §2.4.8 / DS009 §2.4.9: production date cyyjjj / cyyjjjhhmm.
  '=}': { field: 'production', name: 'Production Date', length: 6, pattern: new RegExp(`^${JULIAN}$`) },
  '&}': { field: 'production', name: 'Production Date and Time', length: 10, pattern: new RegExp(`^${JULIAN}${HHMM}$`) },
  // DS035 §2.4.35 MPHO Lot Number.
  '&,1': { field: 'lot', name: 'MPHO Lot Number', length: 18, pattern: /^[A-Z0-9]{18}$/ },
  // Blood containers (bags): container DI and lot (ST-011); a container type, never a device.
  '=)': { field: 'containerDi', name: 'Container Manufacturer and Catalog Number', length: 10, pattern: /^[A-Z0-9]{10}$/ },
  '&)': { field: 'containerLot', name: 'Container Lot Number', length: 10, pattern: /^[A-Z0-9]{10}$/ },
};
/** DS001 §2.4.1 Donation Identification Number "=αppppyynnnnnnff": FIN, year, sequence, 2 flag characters. */
const DIN: IsbtStructure = { field: 'din', name: 'Donation Identification Number', length: 15, pattern: new RegExp(`^${FIN}[0-9]{8}[0-9A-Z]{2}$`) };
const ISBT_FORM = 'an ISBT 128 device UDI looks like =/A9999XYZ100T0944=,000025 (=/<PPIC> then =,<serial>, optionally =<DIN>, =>, =}, &,1)';

function parseIsbt(raw: string): IsbtUdi {
  // Each linear symbol may arrive on its own line with its own symbology identifier; ISBT 128
  // data content never holds white space.
  const s = raw
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim().replace(SYMBOLOGY_ID, ''))
    .join('')
    .replace(/\s+/g, '');
  const found = new Map<IsbtField, string>();
  let i = 0;
  let announced: number | undefined;
  let count = 0;
  if (s.startsWith('=+')) {
    // DS023 §2.4.23 Compound Message "=+aabbb": aa data structures follow, bbb the message type.
    const header = s.slice(2, 7);
    if (!/^[0-9]{5}$/.test(header)) throw new UdiError('UDI_MALFORMED', 'an ISBT 128 compound message starts =+<2-digit count><3-digit type>, e.g. =+06000');
    announced = Number(header.slice(0, 2));
    i = 7;
  }
  while (i < s.length) {
    const di = s.startsWith('&,1', i) ? '&,1' : s.slice(i, i + 2);
    let st = ISBT[di];
    let start = i + di.length;
    if (!st && s[i] === '=' && /[A-NP-Z1-9]/.test(s[i + 1] ?? '')) {
      st = DIN; // the DIN's data identifier is "=" alone; its first data character is the FIN's letter
      start = i + 1;
    }
    if (!st) {
      if (di === '=+') throw new UdiError('UDI_MALFORMED', 'an ISBT 128 compound message header (=+) may only come first');
      throw new UdiError(
        di.startsWith('=') || di.startsWith('&') ? 'UDI_UNKNOWN_DATA_IDENTIFIER' : 'UDI_MALFORMED',
        `"${di}" at position ${i + 1} is not an ISBT 128 data identifier used in device UDIs; ${ISBT_FORM}`,
      );
    }
    let value = s.slice(start, start + st.length);
    const next = start + st.length;
    const early = value.search(/[=&]/);
    if (early >= 0) value = value.slice(0, early); // the next data structure starts too soon
    if (value.length !== st.length) throw new UdiError('UDI_MALFORMED', `ISBT 128 ${st.name} (${di}) needs ${st.length} characters, got ${value.length}`);
    if (!st.pattern.test(value)) {
      const dated = st.field === 'expiry' || st.field === 'production';
      throw new UdiError(
        dated ? 'UDI_BAD_DATE' : /^[A-Z0-9]*$/.test(value) ? 'UDI_MALFORMED' : 'UDI_BAD_CHARACTER',
        dated ? `ISBT 128 ${st.name} must be cyyjjj${st.length === 10 ? 'hhmm' : ''} (year, day 001-366), got "${value}"` : `"${value}" is not a valid ISBT 128 ${st.name}`,
      );
    }
    const previous = found.get(st.field);
    if (previous !== undefined && previous !== value) throw new UdiError('UDI_DUPLICATE_FIELD', `the ISBT 128 label has two different ${st.name}s: ${previous} and ${value}`);
    found.set(st.field, value);
    count++;
    i = next;
  }
  if (announced !== undefined && announced !== count) {
    throw new UdiError('UDI_MALFORMED', `the ISBT 128 compound message announces ${announced} data structures but holds ${count}`);
  }
  const ppic = found.get('ppic');
  if (!ppic) {
    throw new UdiError(
      'UDI_MISSING_DI',
      found.has('containerDi')
        ? 'an ISBT 128 blood container code (=)…) identifies a container type and lot, not a device; a device UDI starts =/<PPIC>'
        : `an ISBT 128 device UDI needs its Processor Product Identification Code (=/<16 characters>); ${ISBT_FORM}`,
    );
  }
  const out: { -readonly [K in keyof IsbtUdi]: IsbtUdi[K] } = { issuer: 'ICCBBA', ppic };
  const serial = found.get('serial');
  if (serial !== undefined) out.serial = serial;
  const din = found.get('din');
  if (din !== undefined) {
    out.din = din.slice(0, 13);
    const dinFlags = din.slice(13);
    if (dinFlags !== '00') out.dinFlags = dinFlags;
    // Flag characters 60-96 carry the ISO/IEC 7064 modulo 37-2 check of the DIN as 60 + value (ST-001 §2.4.1).
    const flags = Number(dinFlags);
    if (/^[0-9]{2}$/.test(dinFlags) && flags >= 60 && flags <= 96) {
      const want = isbtCheckValue(out.din);
      if (flags - 60 !== want) {
        throw new UdiError('UDI_CHECK_DIGIT', `DIN ${out.din} has check flags ${dinFlags}, expected ${60 + want} (ISO/IEC 7064 modulo 37-2, check character ${isbtCheckCharacter(want)})`);
      }
    }
  }
  if (found.has('expiry')) out.expiryDate = found.get('expiry')!;
  if (found.has('production')) out.productionDate = found.get('production')!;
  if (found.has('lot')) out.lot = found.get('lot')!;
  return out;
}

function formatIsbt(u: IsbtUdi): string {
  let s = `=/${u.ppic}`;
  if (u.serial !== undefined) s += `=,${u.serial}`;
  if (u.din !== undefined) s += `=${u.din}${u.dinFlags ?? '00'}`;
  if (u.expiryDate !== undefined) s += `${u.expiryDate.length === 10 ? '&>' : '=>'}${u.expiryDate}`;
  if (u.productionDate !== undefined) s += `${u.productionDate.length === 10 ? '&}' : '=}'}${u.productionDate}`;
  if (u.lot !== undefined) s += `&,1${u.lot}`;
  return s;
}

const ISBT_KEY = new RegExp(`^(${FIN}[A-Z0-9]{6}[A-Z][0-9]{4})(?:/(${FIN}[0-9]{8}))?(?:/([A-Za-z0-9]{6}))?$`);

function parseIsbtKey(body: string): IsbtUdi {
  const m = ISBT_KEY.exec(body);
  if (!m) throw new UdiError('UDI_MALFORMED', 'an ISBT 128 device key looks like isbt128:A9999XYZ100T0944/000025 (<PPIC>/<serial>, or <PPIC>/<DIN>/<serial>)');
  const out: { -readonly [K in keyof IsbtUdi]: IsbtUdi[K] } = { issuer: 'ICCBBA', ppic: m[1]! };
  if (m[2] !== undefined) out.din = m[2];
  if (m[3] !== undefined) out.serial = m[3];
  return out;
}

// ─────────────────────────────────────────── Entry points ──────────────────────────────────────

/** Parses any supported form. Input is bounded before any work is done. */
export function parseUdi(input: string): Udi {
  if (typeof input !== 'string') throw new UdiError('UDI_MALFORMED', 'a UDI must be a string');
  if (input.length > MAX_UDI_INPUT) throw new UdiError('UDI_TOO_LONG', `a UDI is at most ${MAX_UDI_INPUT} characters`);
  // GS may arrive as the text "<GS>"; scanners in keyboard mode may add a newline.
  const raw = input.replace(/<GS>|\\x1[dD]|\\u001[dD]/g, GS);
  const text = raw.replace(/^\s+|\s+$/g, '');
  if (text.length === 0) throw new UdiError('UDI_EMPTY', `no UDI given; expected ${FORMS}`);
  if (/^hibc:/i.test(text)) return parseHibcKey(text.slice(5));
  if (/^isbt128:/i.test(text)) return parseIsbtKey(text.slice(8));
  if (/^https?:\/\//i.test(text)) return parseDigitalLink(text);
  if (text.startsWith('(')) return parseHumanReadable(text);
  const body = text.replace(SYMBOLOGY_ID, '');
  if (/^\*?\+/.test(body)) return parseHibc(raw);
  if (/^[=&]/.test(body)) return parseIsbt(raw);
  const gtin = bareGtin(text);
  if (gtin) return gtin;
  if (/^(\][A-Za-z][0-9])?\u001d?[0-9]{2}/.test(text)) return parseRaw(text);
  if (/^[[{<][0-9]{2,4}[\]}>]/.test(text)) throw new UdiError('UDI_MALFORMED', 'GS1 application identifiers are written in round brackets, e.g. (01)09506000134352(21)SN0001');
  throw new UdiError('UDI_MALFORMED', `not a UDI form this ledger knows; expected ${FORMS}`);
}

export function formatUdi(u: Udi): string {
  if (u.issuer === 'HIBCC') return formatHibc(u);
  if (u.issuer === 'ICCBBA') return formatIsbt(u);
  const value: Record<CoreAi, string | undefined> = { '01': u.gtin, '11': u.productionDate, '17': u.expiryDate, '10': u.lot, '21': u.serial };
  return ORDER.filter((ai) => value[ai] !== undefined).map((ai) => `(${ai})${value[ai]}`).join('');
}

/**
 * The canonical device identifier: "(01)<GTIN>(21)<serial>", "hibc:+<LIC><PCN><U/M>/<serial>" or
 * "isbt128:<PPIC>[/<DIN>]/<serial>". A UDI without a serial identifies a product, not a device.
 */
export function deviceKey(u: Udi): string {
  if (u.issuer === 'HIBCC') {
    const di = `+${u.lic}${u.pcn}${u.unitOfMeasure}`;
    if (u.serial === undefined) {
      throw new UdiError(
        'UDI_MISSING_SERIAL',
        `a device UDI needs a serial: HIBC ${di} identifies a product, not a device; add a secondary with the serial, e.g. ${di}/$+SN0001<check> or /S<serial>`,
      );
    }
    return `hibc:${di}/${u.serial}`;
  }
  if (u.issuer === 'ICCBBA') {
    if (u.serial === undefined) {
      throw new UdiError(
        'UDI_MISSING_SERIAL',
        `a device UDI needs a serial: ISBT 128 =/${u.ppic} identifies a product, not a device; add the Product Divisions serial, e.g. =/${u.ppic}=,000025`,
      );
    }
    return `isbt128:${u.ppic}/${u.din !== undefined ? `${u.din}/` : ''}${u.serial}`;
  }
  if (u.serial === undefined) {
    throw new UdiError('UDI_MISSING_SERIAL', `a device UDI needs a serial: (01)${u.gtin} alone identifies a product, not a device; add (21)<serial>, e.g. (01)${u.gtin}(21)SN0001`);
  }
  return `(01)${u.gtin}(21)${u.serial}`;
}

export function normaliseDeviceUdi(input: string): string {
  const key = deviceKey(parseUdi(input));
  // A key must read back as itself, or two devices could share one (a GS1 serial containing
  // "(10)", say, is ambiguous in the bracketed form).
  let again: string | undefined;
  try {
    again = deviceKey(parseUdi(key));
  } catch {
    again = undefined;
  }
  if (again !== key) throw new UdiError('UDI_MALFORMED', 'this serial cannot be keyed unambiguously (it contains an application identifier in brackets); devices with such serials cannot be recorded');
  return key;
}

/**
 * The device identifier (UDI-DI, the product or model) of a UDI, in the agency's own notation:
 * a GTIN-14 for GS1, "+<LIC><PCN><U/M>" for HIBCC, "=/<PPIC>" for ICCBBA. The three never collide.
 */
export function productOf(u: Udi): string {
  if (u.issuer === 'HIBCC') return `+${u.lic}${u.pcn}${u.unitOfMeasure}`;
  if (u.issuer === 'ICCBBA') return `=/${u.ppic}`;
  return u.gtin;
}

/** `productOf` for a canonical device key (as `deviceKey` returns it); undefined for anything else. */
export function productOfDeviceKey(key: string): string | undefined {
  try {
    const u = parseUdi(key);
    return deviceKey(u) === key ? productOf(u) : undefined;
  } catch (e) {
    if (e instanceof UdiError) return undefined;
    throw e;
  }
}
