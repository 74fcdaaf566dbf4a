import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PREDICATE_TYPES, checkSubjectKinds, parseStatement, predicateType, validatePredicate } from '../../src/attest/index.js';

const example = (name: string) => readFileSync(new URL(`../../attestations/examples/${name}.json`, import.meta.url));

describe('predicate types', () => {
  for (const type of PREDICATE_TYPES) {
    it(`${type.name}: the worked example is a valid statement for its schema, subjects and URI`, () => {
      const st = parseStatement(example(type.name));
      expect(st.predicateType).toBe(type.uri);
      expect(predicateType(st.predicateType)).toBe(type);
      checkSubjectKinds(st, type.subjects, type.name);
      expect(() => validatePredicate(type.uri, st.predicate)).not.toThrow();
    });

    it(`${type.name}: a predicate missing its required fields is refused`, () => {
      expect(() => validatePredicate(type.uri, {})).toThrow(expect.objectContaining({ code: 'PREDICATE_INVALID' }));
    });
  }
});
