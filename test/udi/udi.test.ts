import { describe, expect, it } from 'vitest';
import { deviceKey, formatUdi, gtinCheckDigit, normaliseDeviceUdi, parseUdi } from '../../src/udi/udi.js';

const GS = '\u001d';
const CANONICAL = '(01)09506000134352(17)271231(10)LOT-42(21)SN0001';

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
    ['unknown AI', '(01)09506000134352(99)X', 'UDI_UNKNOWN_AI'],
    ['unknown AI in raw form', '010950600013435299X', 'UDI_UNKNOWN_AI'],
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
  ])('rejects %s with its own code', (_why, input, code) => {
    expect(() => parseUdi(input)).toThrow(expect.objectContaining({ code }));
  });

  it('needs a serial to identify a device', () => {
    expect(() => deviceKey(parseUdi('(01)09506000134352(10)LOT'))).toThrow(expect.objectContaining({ code: 'UDI_MISSING_SERIAL' }));
  });
});
