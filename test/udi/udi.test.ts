import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deviceKey,
  formatUdi,
  gtinCheckDigit,
  hibcCheckCharacter,
  isbtCheckCharacter,
  isbtCheckValue,
  MAX_UDI_INPUT,
  normaliseDeviceUdi,
  parseUdi,
  productOf,
  productOfDeviceKey,
  UdiError,
  type Gs1Udi,
  type Udi,
  type UdiErrorCode,
} from '../../src/udi/udi.js';

const GS = '\u001d';
const CANONICAL = '(01)09506000134352(17)271231(10)LOT-42(21)SN0001';
/** HIBC symbol data with its modulo 43 check character appended. */
const hibc = (data: string) => data + hibcCheckCharacter(data);
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(UdiError);
    return (e as UdiError).code;
  }
};

describe('UDI parsing', () => {
  it('computes GTIN check digits', () => {
    expect(gtinCheckDigit('0950600013435')).toBe(2);
    expect(gtinCheckDigit('0000000000000')).toBe(0);
  });

  it.each([
    ['human-readable', '(01)09506000134352(17)271231(10)LOT-42(21)SN0001'],
    ['human-readable, other order', '(21)SN0001(10)LOT-42(01)09506000134352(17)271231'],
    ['raw with GS separators', `010950600013435217271231 10LOT-42${GS}21SN0001`.replace(' ', '')],
    ['raw with symbology identifier and leading FNC1', `]d2${GS}01095060001343521727123110LOT-42${GS}21SN0001`],
    ['raw with a trailing newline from a keyboard-wedge scanner', `01095060001343521727123110LOT-42${GS}21SN0001\n`],
    ['raw with <GS> typed as text', '01095060001343521727123110LOT-42<GS>21SN0001'],
    ['GS1 Digital Link', 'https://id.gs1.org/01/09506000134352/10/LOT-42/21/SN0001?17=271231'],
    ['Digital Link with a GTIN-13', 'https://example.com/some/prefix/01/9506000134352/10/LOT-42/21/SN0001?17=271231'],
  ])('normalises the %s form', (_form, input) => {
    expect(formatUdi(parseUdi(input))).toBe(CANONICAL);
    expect(normaliseDeviceUdi(input)).toBe('(01)09506000134352(21)SN0001');
  });

  it.each([
    ['bad check digit', '(01)09506000134353(21)X', 'UDI_CHECK_DIGIT'],
    ['short GTIN', '(01)0950600013435(21)X', 'UDI_BAD_GTIN'],
    ['AI whose length contradicts its first digits', '(01)09506000134352(2401)X(21)1', 'UDI_UNKNOWN_AI'],
    ['Digital Link path key that is no AI', 'https://id.gs1.org/01/09506000134352/serial/1', 'UDI_UNKNOWN_AI'],
    ['overlong serial', `(01)09506000134352(21)${'9'.repeat(21)}`, 'UDI_FIELD_TOO_LONG'],
    ['overlong lot', `(01)09506000134352(10)${'L'.repeat(21)}(21)1`, 'UDI_FIELD_TOO_LONG'],
    ['bad month', '(01)09506000134352(17)271331(21)1', 'UDI_BAD_DATE'],
    ['duplicate AI', '(01)09506000134352(21)1(21)2', 'UDI_DUPLICATE_AI'],
    ['no GTIN', '(21)12345', 'UDI_MISSING_GTIN'],
    ['forbidden character', '(01)09506000134352(21)a b', 'UDI_BAD_CHARACTER'],
    ['garbage', 'hello', 'UDI_MALFORMED'],
    ['empty', '   ', 'UDI_EMPTY'],
    ['too long input', `(01)09506000134352(21)${'1'.repeat(600)}`, 'UDI_TOO_LONG'],
    ['truncated raw GTIN', '0109506', 'UDI_MALFORMED'],
    ['Digital Link without GTIN', 'https://id.gs1.org/21/123', 'UDI_MISSING_GTIN'],
  ])('rejects %s with its own code', (_why, input, want) => {
    expect(() => parseUdi(input)).toThrow(expect.objectContaining({ code: want }));
  });

  it('needs a serial to identify a device', () => {
    expect(() => deviceKey(parseUdi('(01)09506000134352(10)LOT'))).toThrow(expect.objectContaining({ code: 'UDI_MISSING_SERIAL' }));
  });

  it('keeps MAX_UDI_INPUT as the bound on input', () => {
    expect(MAX_UDI_INPUT).toBe(512);
    expect(code(() => parseUdi(`(01)09506000134352(21)${'1'.repeat(MAX_UDI_INPUT)}`))).toBe('UDI_TOO_LONG');
  });
});

describe('GS1: further application identifiers', () => {
  const KEY = '(01)09506000134352(21)SN0001';

  it('keeps AIs beyond 01/10/11/17/21 in label order without changing the canonical forms', () => {
    const u = parseUdi('(01)09506000134352(240)ABC-1(241)CUST9(30)12(7003)2412311200(22)CPV(235)TPX7(250)SEC1(251)REF2(8020)PAY1(21)SN0001');
    expect(u).toMatchObject({ issuer: 'GS1', gtin: '09506000134352', serial: 'SN0001' });
    expect(u.issuer !== 'HIBCC' && u.issuer !== 'ICCBBA' && u.otherAis).toEqual([
      ['240', 'ABC-1'],
      ['241', 'CUST9'],
      ['30', '12'],
      ['7003', '2412311200'],
      ['22', 'CPV'],
      ['235', 'TPX7'],
      ['250', 'SEC1'],
      ['251', 'REF2'],
      ['8020', 'PAY1'],
    ]);
    expect(formatUdi(u)).toBe('(01)09506000134352(21)SN0001');
    expect(deviceKey(u)).toBe(KEY);
  });

  it.each([
    ['raw, variable-length AIs ended by GS', `010950600013435224012345${GS}3012${GS}70032412311200${GS}21SN0001`],
    ['raw, predefined-length AIs (3103 net weight, 11 production date) with no GS', '0109506000134352' + '3103001250' + '11250101' + '21SN0001'],
    ['raw, 2-D with an AIM identifier and medical AIs', `]d2010950600013435211250101${GS}240REF-77${GS}21SN0001${GS}7240PROTO1`],
    ['human-readable with spaces between element strings', '(01) 09506000134352 (11) 250101 (21) SN0001'],
    ['Digital Link with further AIs as query parameters', 'https://id.gs1.org/01/09506000134352/22/CPV1/21/SN0001?240=ABC&3103=000125&linkType=gs1:pip'],
  ])('accepts %s', (_form, input) => {
    expect(normaliseDeviceUdi(input)).toBe(KEY);
  });

  it.each([
    ['unassigned AI with a predefined length (04, 16 digits) in raw data', '0109506000134352' + '041234567890123456' + '21SN0001'],
    ['unassigned 4-digit measure AI (3106) in raw data', `01095060001343523106123456${GS}21SN0001`],
    ['unknown AI prefix (05) in raw data, ended by GS', `010950600013435205ANYTHING${GS}21SN0001`],
    ['unknown AI at the end of raw data', `0109506000134352${GS}21SN0001${GS}6543XYZ`],
    ['unknown but well-formed AI in human-readable form', '(01)09506000134352(05)ANYTHING(21)SN0001'],
    ['company-internal AIs (90-99)', '(01)09506000134352(99)ANY(91)X(21)SN0001'],
  ])('skips %s', (_what, input) => {
    expect(normaliseDeviceUdi(input)).toBe(KEY);
  });

  it.each([
    ['empty variable-length AI', '(01)09506000134352(240)(21)1', 'UDI_MALFORMED'],
    ['too long variable-length AI', `(01)09506000134352(240)${'A'.repeat(31)}(21)1`, 'UDI_FIELD_TOO_LONG'],
    ['letters in a numeric AI', '(01)09506000134352(30)12A(21)1', 'UDI_BAD_CHARACTER'],
    ['fixed-length AI too short', '(01)09506000134352(7003)24123112(21)1', 'UDI_MALFORMED'],
    ['fixed-length AI too long', '(01)09506000134352(422)0566(21)1', 'UDI_FIELD_TOO_LONG'],
    ['duplicate further AI', '(01)09506000134352(240)A(240)B(21)1', 'UDI_DUPLICATE_AI'],
    ['truncated predefined-length AI in raw data', '0109506000134352310300', 'UDI_MALFORMED'],
    ['square brackets for AIs', '[01]09506000134352[21]SN0001', 'UDI_MALFORMED'],
  ])('refuses %s', (_why, input, want) => {
    expect(code(() => parseUdi(input))).toBe(want);
  });

  it('reads a bare GTIN as a product and says what a device UDI needs', () => {
    expect(parseUdi('09506000134352')).toEqual({ issuer: 'GS1', gtin: '09506000134352' });
    expect(parseUdi('9506000134352')).toEqual({ issuer: 'GS1', gtin: '09506000134352' });
    expect(() => normaliseDeviceUdi('09506000134352')).toThrow(
      expect.objectContaining({
        code: 'UDI_MISSING_SERIAL',
        message: expect.stringMatching(/needs a serial: \(01\)09506000134352 alone identifies a product, not a device; add \(21\)<serial>, e\.g\. \(01\)09506000134352\(21\)SN0001/),
      }),
    );
  });
});

describe('HIBCC (HIBC LIC Supplier Labeling Standard)', () => {
  it('computes the modulo 43 check character (HIBC worked example +A123BJC5D6E71 → G)', () => {
    expect(hibcCheckCharacter('+A123BJC5D6E71')).toBe('G');
    expect(hibcCheckCharacter('+A99912345/$$52001510X3/16D20111212/S77DE1G45')).toBe('-');
    expect(() => hibcCheckCharacter('+a')).toThrow(UdiError);
  });

  // Published labels: FDA/HL7 examples for each $$ date format, vendor documentation examples.
  it.each([
    ['$$ MMYY, supplemental serial and manufacture date', '+X999123ABC0/$$05191234AB/S5678EDFG/16D20151001A', 'hibc:+X999123ABC0/5678EDFG', { lot: '1234AB', expiryDate: '0519', expiryDateFormat: 'MMYY', productionDate: '20151001' }],
    ['$$2 MMDDYY', '+X999123ABC0/$$20515191234AB/S5678EDFG/16D20151001I', 'hibc:+X999123ABC0/5678EDFG', { expiryDate: '051519', expiryDateFormat: 'MMDDYY' }],
    ['$$3 YYMMDD', '+X999123ABC0/$$31905151234AB/S5678EDFG/16D20151001J', 'hibc:+X999123ABC0/5678EDFG', { expiryDate: '190515', expiryDateFormat: 'YYMMDD' }],
    ['$$4 YYMMDDHH', '+X999123ABC0/$$4190515211234AB/S5678EDFG/16D20151001N', 'hibc:+X999123ABC0/5678EDFG', { expiryDate: '19051521', expiryDateFormat: 'YYMMDDHH' }],
    ['$$5 YYJJJ', '+X999123ABC0/$$5191351234AB/S5678EDFG/16D20151001J', 'hibc:+X999123ABC0/5678EDFG', { expiryDate: '19135', expiryDateFormat: 'YYJJJ' }],
    ['$$6 YYJJJHH', '+X999123ABC0/$$619135211234AB/S5678EDFG/16D20151001N', 'hibc:+X999123ABC0/5678EDFG', { expiryDate: '1913521', expiryDateFormat: 'YYJJJHH' }],
    ['$ lot with /14D expiry', '+X999123ABC0/$1234AB/S5678EDFG/16D20151001/14D20190515.', 'hibc:+X999123ABC0/5678EDFG', { lot: '1234AB', expiryDate: '20190515', expiryDateFormat: 'YYYYMMDD' }],
    ['18-character PCN, lot and serial', '+A123ABCDEFGHI1234567891/$$420020216LOT123456789012345/SXYZ456789012345678/16D20130202$', 'hibc:+A123ABCDEFGHI1234567891/XYZ456789012345678', { pcn: 'ABCDEFGHI123456789' }],
    ['concatenated, lot then serial', '+A99912345/$$52001510X3/16D20111212/S77DE1G45-', 'hibc:+A99912345/77DE1G45', { lot: '10X3', productionDate: '20111212' }],
    ['$$8 two-digit quantity', '+A99912345/$$81210X3/16D20111212/14D20200906/S77DEFG45$', 'hibc:+A99912345/77DEFG45', { quantity: '12', lot: '10X3' }],
    ['$$9 five-digit quantity', '+A99912345/$$90234510X3/16D20111212/14D20200906/S77DEFG458', 'hibc:+A99912345/77DEFG45', { quantity: '02345', lot: '10X3' }],
    ['a second secondary carrying $$+ serial', '+A99912345/$$81210X3/$$+320090677DEFG45/16D20111212U', 'hibc:+A99912345/77DEFG45', { expiryDate: '200906', expiryDateFormat: 'YYMMDD' }],
    ['$$1 MMYY', '+J123AQ3451/$$1125BC34567/S4012L', 'hibc:+J123AQ3451/4012', { expiryDate: '1125', lot: 'BC34567' }],
    ['original YYJJJ secondary', '+J123AQ3451/25330BC34567/S4012X', 'hibc:+J123AQ3451/4012', { expiryDate: '25330', expiryDateFormat: 'YYJJJ' }],
    ['separate lines, $$+ serial linked by the primary check character', '+A123BJC5D6E71G\n+$$+52001510X3GB', 'hibc:+A123BJC5D6E71/10X3', { serial: '10X3', expiryDate: '20015' }],
    ['separate lines, secondary scanned first', '+$$+52001510X3GB\r\n+A123BJC5D6E71G', 'hibc:+A123BJC5D6E71/10X3', {}],
    ['Code 39 captions between asterisks', '*+A123BJC5D6E71G*\n*+$$+52001510X3GB*', 'hibc:+A123BJC5D6E71/10X3', {}],
    ['symbology identifiers on each line', ']C0+A123BJC5D6E71G\n]C0+$$+52001510X3GB', 'hibc:+A123BJC5D6E71/10X3', {}],
  ])('reads %s', (_form, input, key, fields) => {
    const u = parseUdi(input);
    expect(u).toMatchObject({ issuer: 'HIBCC', ...fields });
    expect(normaliseDeviceUdi(input)).toBe(key);
    expect(normaliseDeviceUdi(key)).toBe(key);
    expect(parseUdi(formatUdi(u))).toEqual(u);
  });

  it('reads the serial-flag variants $+, $$+ and /S', () => {
    for (const data of ['+A123BJC5D6E71/$+SN77', '+A123BJC5D6E71/$$+7SN77', '+A123BJC5D6E71/$$+0925SN77', '+A123BJC5D6E71/$$+8050925SN77', '+A123BJC5D6E71/$LOT1/SSN77']) {
      expect(normaliseDeviceUdi(hibc(data))).toBe('hibc:+A123BJC5D6E71/SN77');
    }
    expect(parseUdi(hibc('+A123BJC5D6E71/$$+8050925SN77'))).toMatchObject({ quantity: '05', expiryDate: '0925', expiryDateFormat: 'MMYY', serial: 'SN77' });
  });

  it('takes a space check character from scanner data and "_" from a caption', () => {
    // The primary +A123BJCMD6E79 has the check character "+", its linked secondary a space.
    expect(hibcCheckCharacter('+$$52001510X3+')).toBe(' ');
    const want = { issuer: 'HIBCC', pcn: 'BJCMD6E7', unitOfMeasure: '9', lot: '10X3', expiryDate: '20015' };
    expect(parseUdi('+A123BJCMD6E79+\n+$$52001510X3+ ')).toMatchObject(want);
    expect(parseUdi('*+A123BJCMD6E79+*\n*+$$52001510X3+_*')).toMatchObject(want);
    expect(code(() => parseUdi('+A123BJCMD6E79+\n+$$52001510X3+'))).toBe('UDI_CHECK_DIGIT'); // the space was lost
    // A stray space after a valid symbol is not taken for a check character, even when it would also check.
    const j = hibc('+A123BJC5D6E71/$+SN7');
    const k = [...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'].map((c) => hibc(`+A123BJC5D6E71/$+SN${c}`)).find((d) => d.endsWith('J'))!;
    expect(hibcCheckCharacter(k)).toBe(' ');
    expect(normaliseDeviceUdi(`${k} `)).toBe(normaliseDeviceUdi(k));
    expect(normaliseDeviceUdi(`${j}  \t`)).toBe(normaliseDeviceUdi(j));
  });

  it('says a HIBC primary alone identifies a product', () => {
    expect(parseUdi('+A123BJC5D6E71G')).toEqual({ issuer: 'HIBCC', lic: 'A123', pcn: 'BJC5D6E7', unitOfMeasure: '1' });
    expect(() => normaliseDeviceUdi('+A123BJC5D6E71G')).toThrow(
      expect.objectContaining({ code: 'UDI_MISSING_SERIAL', message: expect.stringContaining('+A123BJC5D6E71 identifies a product, not a device') }),
    );
    expect(code(() => normaliseDeviceUdi('+A123BJC5D6E71G\n+$$52001510X3GD'))).toBe('UDI_MISSING_SERIAL'); // a lot is not a serial
  });

  it.each([
    ['a wrong check character', '+A123BJC5D6E71H', 'UDI_CHECK_DIGIT'],
    ['a wrong check character on a combined label', '+X999123ABC0/$$05191234AB/S5678EDFG/16D20151001B', 'UDI_CHECK_DIGIT'],
    ['a typo in the serial', '+X999123ABC0/$$05191234AB/S5678EDFH/16D20151001A', 'UDI_CHECK_DIGIT'],
    ['two symbols read back to back', '+A123BJC5D6E71G+$$+52001510X3GB', 'UDI_CHECK_DIGIT'],
    ['a secondary linked to another primary', '+A123BJC5D6E71G\n' + hibc('+$$+52001510X3H'), 'UDI_LINK_MISMATCH'],
    ['a secondary without its primary', '+$$+52001510X3GB', 'UDI_MISSING_DI'],
    ['lower-case data', '+a123bjc5d6e71g', 'UDI_BAD_CHARACTER'],
    ['a LIC starting with a digit', hibc('+1123BJC5D6E71'), 'UDI_MALFORMED'],
    ['a unit of measure that is no digit', hibc('+A123BJC5D6E7X'), 'UDI_MALFORMED'],
    ['a 19-character product number', hibc(`+A123${'P'.repeat(19)}1`), 'UDI_FIELD_TOO_LONG'],
    ['a 19-character serial', hibc(`+A123BJC5D6E71/$+${'S'.repeat(19)}`), 'UDI_FIELD_TOO_LONG'],
    ['a serial with punctuation', hibc('+A123BJC5D6E71/$+SN-1'), 'UDI_BAD_CHARACTER'],
    ['an empty serial', hibc('+A123BJC5D6E71/$+'), 'UDI_MALFORMED'],
    ['month 13 in MMYY', hibc('+A123BJC5D6E71/$$1325LOT'), 'UDI_BAD_DATE'],
    ['day 367 in YYJJJ', hibc('+A123BJC5D6E71/$$525367LOT'), 'UDI_BAD_DATE'],
    ['a bad /16D date', hibc('+A123BJC5D6E71/$+SN1/16D20111312'), 'UDI_BAD_DATE'],
    ['$$ without a date format digit', hibc('+A123BJC5D6E71/$$LOT'), 'UDI_MALFORMED'],
    ['two different serials', hibc('+A123BJC5D6E71/$+SN1/SSN2'), 'UDI_DUPLICATE_FIELD'],
    ['two different primaries', '+A123BJC5D6E71G\n' + hibc('+A123BJC5D6E72'), 'UDI_DUPLICATE_FIELD'],
    ['a malformed canonical key', 'hibc:+A123BJC5D6E71/', 'UDI_MALFORMED'],
  ])('refuses %s', (_why, input, want) => {
    expect(code(() => normaliseDeviceUdi(input))).toBe(want);
  });

  it('explains back-to-back symbols and the expected form in its messages', () => {
    expect(() => parseUdi('+A123BJC5D6E71G+$$+52001510X3GB')).toThrow(/give each its own line/);
    expect(() => parseUdi('+$$+52001510X3GB')).toThrow(/needs its primary data \+<LIC><PCN><U\/M><check>/);
  });
});

describe('ICCBBA (ISBT 128)', () => {
  // FDA "UDI formats by FDA-Accredited Issuing Agency": the ISBT 128 example UDI.
  const FDA = '=/A9999XYZ100T0944=,000025=A99971312345600=>014032=}013032&,1000000000000XYZ123';
  const KEY = 'isbt128:A9999XYZ100T0944/A999713123456/000025';

  it('computes the ISO/IEC 7064 modulo 37-2 check of a DIN (G123 498 654 321 → 17, H)', () => {
    expect(isbtCheckValue('G123498654321')).toBe(17);
    expect(isbtCheckCharacter(17)).toBe('H');
  });

  it('reads the FDA example UDI', () => {
    const u = parseUdi(FDA);
    expect(u).toEqual({
      issuer: 'ICCBBA',
      ppic: 'A9999XYZ100T0944',
      serial: '000025',
      din: 'A999713123456',
      expiryDate: '014032',
      productionDate: '013032',
      lot: '000000000000XYZ123',
    });
    expect(formatUdi(u)).toBe(FDA);
    expect(normaliseDeviceUdi(FDA)).toBe(KEY);
    expect(normaliseDeviceUdi(KEY)).toBe(KEY);
  });

  it.each([
    ['inside a compound message (2-D symbol)', `=+06000${FDA}`],
    ['with a Data Matrix symbology identifier', `]d1=+06000${FDA}`],
    ['as separate linear symbols, one per line', '=/A9999XYZ100T0944\n=,000025\n=A99971312345600\n=>014032\n=}013032\n&,1000000000000XYZ123\n'],
    ['as plain text with spaces between data structures', '=/A9999XYZ100T0944 =,000025 =A99971312345600 =>014032 =}013032 &,1000000000000XYZ123'],
  ])('reads it %s', (_form, input) => {
    expect(normaliseDeviceUdi(input)).toBe(KEY);
  });

  it('identifies a device without a DIN by PPIC and serial, and checks DIN flag check characters', () => {
    expect(normaliseDeviceUdi('=/A9999XYZ100T0944=,000025&>0140321530')).toBe('isbt128:A9999XYZ100T0944/000025');
    expect(normaliseDeviceUdi('isbt128:A9999XYZ100T0944/000025')).toBe('isbt128:A9999XYZ100T0944/000025');
    expect(normaliseDeviceUdi('=/A9999XYZ100T0944=,000025=G12349865432177')).toBe('isbt128:A9999XYZ100T0944/G123498654321/000025');
  });

  it('says a PPIC alone identifies a product', () => {
    expect(() => normaliseDeviceUdi('=/A9999XYZ100T0944=>014032')).toThrow(
      expect.objectContaining({ code: 'UDI_MISSING_SERIAL', message: expect.stringContaining('=/A9999XYZ100T0944=,000025') }),
    );
  });

  it.each([
    ['a DIN whose flags carry the wrong modulo 37-2 check', '=/A9999XYZ100T0944=,000025=G12349865432178', 'UDI_CHECK_DIGIT'],
    ['a short PPIC', '=/A9999XYZ100=,000025', 'UDI_MALFORMED'],
    ['a PPIC whose FIN starts with O', '=/O9999XYZ100T0944=,000025', 'UDI_MALFORMED'],
    ['lower-case PPIC', '=/a9999xyz100t0944=,000025', 'UDI_BAD_CHARACTER'],
    ['day 367', '=/A9999XYZ100T0944=,000025=>014367', 'UDI_BAD_DATE'],
    ['hour 24', '=/A9999XYZ100T0944=,000025&>0140322400', 'UDI_BAD_DATE'],
    ['a data structure not used in device UDIs', '=/A9999XYZ100T0944=,000025=%5100', 'UDI_UNKNOWN_DATA_IDENTIFIER'],
    ['serial without PPIC', '=,000025=>014032', 'UDI_MISSING_DI'],
    ['a blood container code', '=)1BA1234567&)1234567890', 'UDI_MISSING_DI'],
    ['two different serials', '=/A9999XYZ100T0944=,000025=,000026', 'UDI_DUPLICATE_FIELD'],
    ['a compound message with the wrong count', `=+05000${FDA}`, 'UDI_MALFORMED'],
    ['a malformed canonical key', 'isbt128:A9999XYZ100T0944/25', 'UDI_MALFORMED'],
  ])('refuses %s', (_why, input, want) => {
    expect(code(() => normaliseDeviceUdi(input))).toBe(want);
  });
});

describe('device identifiers (products)', () => {
  it('names the model of a device key in each agency\'s notation', () => {
    expect(productOfDeviceKey('(01)09506000134352(21)SN0001')).toBe('09506000134352');
    expect(productOfDeviceKey('hibc:+A123BJC5D6E71/10X3')).toBe('+A123BJC5D6E71');
    expect(productOfDeviceKey('isbt128:A9999XYZ100T0944/A999713123456/000025')).toBe('=/A9999XYZ100T0944');
    expect(productOf(parseUdi('+A123BJC5D6E71G'))).toBe('+A123BJC5D6E71');
  });

  it('gives nothing for what is not a canonical device key', () => {
    for (const notKey of ['(01)09506000134352', '(21)SN0001(01)09506000134352', '+A123BJC5D6E71G\n+$$+52001510X3GB', 'hello', '']) {
      expect(productOfDeviceKey(notKey)).toBeUndefined();
    }
  });
});

describe('errors', () => {
  const CASES: Record<UdiErrorCode, string> = {
    UDI_EMPTY: '\n',
    UDI_TOO_LONG: 'x'.repeat(MAX_UDI_INPUT + 1),
    UDI_MALFORMED: 'UDI: 123',
    UDI_UNKNOWN_AI: '(01)09506000134352(2401)X(21)1',
    UDI_DUPLICATE_AI: '(01)09506000134352(21)1(21)2',
    UDI_FIELD_TOO_LONG: `(01)09506000134352(21)${'9'.repeat(21)}`,
    UDI_BAD_CHARACTER: '(01)09506000134352(21)a b',
    UDI_BAD_GTIN: '(01)123',
    UDI_CHECK_DIGIT: '+A123BJC5D6E71H',
    UDI_BAD_DATE: '=/A9999XYZ100T0944=,000025=>014367',
    UDI_MISSING_GTIN: '(21)12345',
    UDI_MISSING_SERIAL: '(01)09506000134352',
    UDI_MISSING_DI: '+$$+52001510X3GB',
    UDI_LINK_MISMATCH: `+A123BJC5D6E71G\n${hibc('+$$+52001510X3H')}`,
    UDI_UNKNOWN_DATA_IDENTIFIER: '=/A9999XYZ100T0944=<E0001000',
    UDI_DUPLICATE_FIELD: '=/A9999XYZ100T0944=,000025=,000026',
  };

  it.each(Object.entries(CASES))('%s is reachable and is a UdiError', (want, input) => {
    expect(code(() => normaliseDeviceUdi(input))).toBe(want);
  });

  it('tells what a valid UDI looks like when the form is unknown', () => {
    expect(() => parseUdi('UDI: 123')).toThrow(/\(01\)<GTIN-14>\(21\)<serial>.*HIBC "\+<LIC><PCN><U\/M>\/\$\+<serial><check>".*ISBT 128 "=\/<PPIC>=,<serial>"/);
  });
});

/**
 * The parser as it was before HIBCC and ICCBBA support (GS1 with AIs 01, 10, 11, 17, 21 only),
 * kept to prove that every input it accepted still gives the same canonical output.
 */
const legacy = (() => {
  const FIXED: Record<string, number> = { '01': 14, '11': 6, '17': 6 };
  const VARIABLE: Record<string, number> = { '10': 20, '21': 20 };
  const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$/;
  type Fields = Map<string, string>;
  const fail = (): never => {
    throw new Error('refused');
  };
  function check(ai: string, v: string): void {
    if (ai === '01') {
      if (!/^[0-9]{14}$/.test(v) || Number(v[13]) !== gtinCheckDigit(v.slice(0, 13))) fail();
    } else if (ai === '11' || ai === '17') {
      const m = /^([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(v);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 12 || Number(m[3]) > 31) fail();
    } else if (v.length === 0 || v.length > VARIABLE[ai]! || !CSET82.test(v)) fail();
  }
  function put(f: Fields, ai: string, v: string): void {
    if ((!(ai in FIXED) && !(ai in VARIABLE)) || f.has(ai)) fail();
    f.set(ai, v);
  }
  function build(f: Fields): string[] {
    for (const [ai, v] of f) check(ai, v);
    if (!f.get('01')) fail();
    const full = ['01', '11', '17', '10', '21'].filter((ai) => f.has(ai)).map((ai) => `(${ai})${f.get(ai)}`).join('');
    return [full, f.has('21') ? `(01)${f.get('01')}(21)${f.get('21')}` : ''];
  }
  function raw(text: string): string[] {
    const f: Fields = new Map();
    let s = text.replace(/^\][A-Za-z][0-9]/, '');
    if (s.startsWith(GS)) s = s.slice(1);
    let i = 0;
    while (i < s.length) {
      const ai = s.slice(i, i + 2);
      if (!/^[0-9]{2}$/.test(ai)) fail();
      i += 2;
      if (ai in FIXED) {
        const v = s.slice(i, i + FIXED[ai]!);
        if (v.length !== FIXED[ai] || v.includes(GS)) fail();
        put(f, ai, v);
        i += FIXED[ai]!;
        if (s[i] === GS) i++;
      } else if (ai in VARIABLE) {
        const end = s.indexOf(GS, i);
        put(f, ai, end < 0 ? s.slice(i) : s.slice(i, end));
        i = end < 0 ? s.length : end + 1;
      } else fail();
    }
    return build(f);
  }
  function link(text: string): string[] {
    const url = new URL(text);
    const f: Fields = new Map();
    const parts = url.pathname.split('/').filter((p) => p.length > 0);
    const start = parts.findIndex((p) => p === '01' || p === 'gtin');
    if (start < 0) fail();
    const path = parts.slice(start);
    if (path.length % 2 !== 0) fail();
    const alias: Record<string, string> = { gtin: '01', lot: '10', ser: '21', exp: '17' };
    for (let i = 0; i < path.length; i += 2) put(f, alias[path[i]!] ?? path[i]!, decodeURIComponent(path[i + 1]!));
    for (const [k, v] of url.searchParams) {
      const ai = alias[k] ?? k;
      if (/^[0-9]{2,4}$/.test(ai)) put(f, ai, v);
    }
    const g = f.get('01');
    if (g && /^[0-9]{8}$|^[0-9]{12,13}$/.test(g)) f.set('01', g.padStart(14, '0'));
    return build(f);
  }
  /** [formatUdi, normaliseDeviceUdi or ''] as the old parser gave them, or undefined when it refused. */
  function parse(input: string): string[] | undefined {
    try {
      if (input.length > 512) return undefined;
      const text = input.replace(/[\r\n]+$/, '').replace(/^\s+|\s+$/g, '').replace(/<GS>|\\x1[dD]|\\u001[dD]/g, GS);
      if (text.length === 0) return undefined;
      if (/^https?:\/\//i.test(text)) return link(text);
      if (text.startsWith('(')) {
        const f: Fields = new Map();
        const re = /\(([0-9]{2,4})\)([^(]*)/gy;
        let m: RegExpExecArray | null;
        let consumed = 0;
        while ((m = re.exec(text)) !== null) {
          put(f, m[1]!, m[2]!);
          consumed = re.lastIndex;
        }
        if (consumed !== text.length) fail();
        return build(f);
      }
      if (/^(\][A-Za-z][0-9])?\u001d?[0-9]{2}/.test(text)) return raw(text);
      return undefined;
    } catch {
      return undefined;
    }
  }
  return { parse };
})();

describe('properties', () => {
  const SETTINGS = { seed: 20240611, numRuns: 3000 };
  const outcome = (input: string): string => {
    try {
      return `ok ${normaliseDeviceUdi(input)}`;
    } catch (e) {
      if (!(e instanceof UdiError)) throw e;
      return `refused ${e.code}`;
    }
  };

  it('never throws anything but a UdiError, for any string', () => {
    const anyText = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 700 }));
    fc.assert(
      fc.property(anyText, (s) => {
        outcome(s);
        try {
          const u = parseUdi(s);
          formatUdi(u);
        } catch (e) {
          if (!(e instanceof UdiError)) throw e;
        }
      }),
      SETTINGS,
    );
  });

  // Labels of each agency with random content, often valid, sometimes mutated or joined with junk.
  const alnum = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: min, maxLength: max });
  const cset82 = fc.string({ unit: fc.constantFrom(...'09AZaz-./%+?_!()'), minLength: 1, maxLength: 20 });
  const gs1 = fc.tuple(cset82, fc.option(cset82, { nil: undefined }), fc.nat(3)).map(([serial, lot, style]) => {
    const els: [string, string][] = [['01', '09506000134352'], ...(lot ? ([['10', lot]] as [string, string][]) : []), ['240', 'REF-1'], ['21', serial]];
    if (style === 0) return els.map(([a, v]) => `(${a})${v}`).join('');
    if (style === 1) return els.map(([a, v]) => a + v).join(GS);
    if (style === 2) return `https://id.gs1.org/01/09506000134352/21/${encodeURIComponent(serial)}?240=X`;
    return `]d2${GS}${els.map(([a, v]) => a + v).join('<GS>')}\n`;
  });
  const hibcLabel = fc
    .tuple(fc.constantFrom('A', 'H', 'X'), alnum(3, 3), alnum(1, 18), fc.nat(9), alnum(1, 18), fc.constantFrom('$+', '$$+7', '$$+0925', '$$+3250101', '$$+812', '$LOT/S', '$$52026610X/S'), fc.boolean())
    .map(([l, ic, pcn, um, serial, flag, lines]) => {
      const primary = `+${l}${ic}${pcn}${um}`;
      return lines ? `${hibc(primary)}\n${hibc(`+${flag}${serial}${hibcCheckCharacter(primary)}`)}` : hibc(`${primary}/${flag}${serial}`);
    });
  const isbtLabel = fc
    .tuple(fc.constantFrom('A9999XYZ100T0944', 'G1234ABCDEFS1234'), alnum(6, 6), fc.option(fc.constantFrom('=A99971312345600', '=G12349865432177'), { nil: '' }), fc.boolean())
    .map(([ppic, serial, din, compound]) => {
      const body = `=/${ppic}=,${serial}${din}=>025100`;
      return compound ? `=+0${din ? 4 : 3}000${body}` : body;
    });
  const label = fc.oneof(gs1, hibcLabel, isbtLabel);
  const mutated = fc.tuple(label, fc.nat(600), fc.constantFrom('', 'A', '(', '/', '+', '=', '$', ' ', GS, '\n', '_', '*')).map(([l, at, ch]) => {
    const i = at % (l.length + 1);
    return l.slice(0, i) + ch + l.slice(i + (ch === '' ? 1 : 0));
  });
  const junk = fc.string({ unit: fc.constantFrom('A', '1', '+', '/', '$', '=', '&', ',', '(', ')', '-', '.', ' ', '%', '*', '\n', GS), maxLength: 30 });
  const inputs = fc.oneof(label, mutated, junk, fc.tuple(label, junk).map(([a, b]) => a + b));
  /** A GS1 lot or serial that itself holds "(nn)" cannot be told apart from a further element string in the bracketed form. */
  const bracketed = (u: Udi) => u.issuer !== 'HIBCC' && u.issuer !== 'ICCBBA' && [u.lot, u.serial].some((v) => v !== undefined && /\([0-9]{2,4}\)/.test(v));

  it('gives device keys that parse back to themselves', () => {
    let accepted = 0;
    fc.assert(
      fc.property(inputs, (s) => {
        const o = outcome(s);
        if (o.startsWith('ok ')) {
          accepted++;
          const key = o.slice(3);
          if (!bracketed(parseUdi(s))) expect(normaliseDeviceUdi(key)).toBe(key);
        }
      }),
      SETTINGS,
    );
    expect(accepted).toBeGreaterThan(SETTINGS.numRuns / 5);
  });

  it('gives full canonical forms that parse back to the same UDI', () => {
    fc.assert(
      fc.property(inputs, (s) => {
        let u: Udi;
        try {
          u = parseUdi(s);
        } catch (e) {
          if (!(e instanceof UdiError)) throw e;
          return;
        }
        const { otherAis: _dropped, ...described } = u as Gs1Udi; // further GS1 AIs are not part of formatUdi
        if (!bracketed(u)) expect(parseUdi(formatUdi(u))).toEqual(described);
      }),
      SETTINGS,
    );
  });

  it('gives the same canonical output as before for every input the GS1-only parser accepted', () => {
    const text = fc.oneof(
      fc.constantFrom('LOT-42', 'SN0001', '', 'a b', '12345678901234567890', '(', 'A(B', 'x)'),
      fc.string({ unit: fc.constantFrom('0', '1', '9', 'A', 'z', '-', '/', '%', '+', '?', '_', '(', ')', '&', '='), maxLength: 22 }),
    );
    const element = fc.oneof(
      fc.tuple(fc.constant('01'), fc.constantFrom('09506000134352', '9506000134352', '00000000000000', '09506000134353', '0950600013435')),
      fc.tuple(fc.constantFrom('11', '17'), fc.constantFrom('271231', '270000', '271331', '2712', 'ABCDEF')),
      fc.tuple(fc.constantFrom('10', '21', '21'), text),
      fc.tuple(fc.constantFrom('30', '99', '240'), text),
    );
    const form = fc.tuple(fc.array(element, { minLength: 1, maxLength: 5 }), fc.nat(3)).map(([els, style]) => {
      if (style === 0) return els.map(([a, v]) => `(${a})${v}`).join('');
      if (style === 1) return els.map(([a, v]) => `${a}${v}`).join(GS);
      if (style === 2) return ']d2' + GS + els.map(([a, v]) => a + v + (a === '10' || a === '21' ? '<GS>' : '')).join('');
      const [first, ...rest] = els;
      return `https://id.gs1.org/${first![0]}/${encodeURIComponent(first![1])}?${rest.map(([a, v]) => `${a}=${encodeURIComponent(v)}`).join('&')}\n`;
    });
    let compared = 0;
    fc.assert(
      fc.property(form, (input) => {
        const before = legacy.parse(input);
        if (!before) return;
        compared++;
        expect(formatUdi(parseUdi(input))).toBe(before[0]);
        if (before[1]) expect(normaliseDeviceUdi(input)).toBe(before[1]);
        else expect(code(() => normaliseDeviceUdi(input))).toBe('UDI_MISSING_SERIAL');
      }),
      { ...SETTINGS, numRuns: 5000 },
    );
    expect(compared).toBeGreaterThan(100);
  });
});

describe('browser safety', () => {
  it('uses no Node-only API', () => {
    const source = readFileSync(new URL('../../src/udi/udi.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/from ['"]node:|require\(|\bBuffer\b|\bprocess\./);
  });
});

describe('device keys read back as themselves', () => {
  it('refuses a serial that would make an ambiguous key', () => {
    expect(() => normaliseDeviceUdi('0109506000134352' + '21IP-000001(10)X')).toThrow(expect.objectContaining({ code: 'UDI_MALFORMED' }));
    expect(normaliseDeviceUdi('(01)09506000134352(21)IP-000001')).toBe('(01)09506000134352(21)IP-000001');
  });
});
