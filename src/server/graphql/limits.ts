/**
 * What one GraphQL document may cost, counted as it will run: every fragment spread expanded
 * each time it is spread, every alias a field of its own. Three bounds, checked right after
 * parsing (before validation and execution), each refused with QUERY_TOO_COMPLEX and a message
 * saying which:
 *
 *   - at most MAX_FIELDS field selections and MAX_DEPTH levels;
 *   - a cost budget, MAX_COST, where each field costs what its resolver does (FIELD_COST:
 *     evidence packages, verdicts and blast-radius answers are expensive, plain fields cost 1).
 *
 * graphql-armor's plugins (http.ts) add limits on aliases, tokens, depth and its own cost
 * estimate in front of this; this rule is the one that knows which resolvers are expensive.
 */
import { GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

export const MAX_FIELDS = 500;
export const MAX_DEPTH = 12;
/** Ten evidence packages (with the fields around them), or forty verdicts, or a thousand plain fields. */
export const MAX_COST = 1100;

/** What a field costs by its name, where its resolver does real work (everything else costs 1). */
export const FIELD_COST: Readonly<Record<string, number>> = {
  evidence: 100,
  affectedDevices: 100,
  verify: 25,
  provenance: 25,
  entries: 10,
  participants: 10,
  lookup: 5,
  inclusionProof: 5,
  consistencyProof: 5,
  submitAttestation: 5,
  submitAttestations: 50,
};

/**
 * The first bound a document crosses, as the error to answer with, or undefined. Run on the
 * parsed document before validation, whose own rules (overlapping fields) are costly on exactly
 * the documents this refuses.
 */
export function documentLimits(document: DocumentNode): GraphQLError | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  let fields = 0;
  let cost = 0;
  let refused: string | undefined;
  /** Walks a selection set as it will execute; stops at the first bound crossed. */
  const walk = (set: SelectionSetNode, depth: number, spreading: readonly string[]): void => {
    if (refused) return;
    if (depth > MAX_DEPTH) {
      refused = `a query may nest at most ${MAX_DEPTH} levels (fragments counted where they are spread)`;
      return;
    }
    for (const s of set.selections) {
      if (refused) return;
      if (s.kind === Kind.FIELD) {
        fields++;
        cost += FIELD_COST[s.name.value] ?? 1;
        if (fields > MAX_FIELDS) refused = `a query may select at most ${MAX_FIELDS} fields (each fragment spread and alias counted)`;
        else if (cost > MAX_COST) refused = `the query costs more than ${MAX_COST} (evidence and affectedDevices cost ${FIELD_COST.evidence} each, verify and provenance ${FIELD_COST.verify}); ask for less at a time`;
        else if (s.selectionSet) walk(s.selectionSet, depth + 1, spreading);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        walk(s.selectionSet, depth, spreading);
      } else {
        const f = fragments.get(s.name.value);
        // A cycle is refused by validation; it is not walked twice here.
        if (f && !spreading.includes(f.name.value)) walk(f.selectionSet, depth, [...spreading, f.name.value]);
      }
    }
  };
  for (const d of document.definitions) if (d.kind === Kind.OPERATION_DEFINITION) walk(d.selectionSet, 1, []);
  return refused === undefined ? undefined : new GraphQLError(refused, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/** Each parsed document's verdict, once: Yoga's parser cache hands back the same document for the same text. */
const checked = new WeakMap<DocumentNode, string | null>();

/** An envelop/Yoga plugin: documents over the limits are refused right after parsing. */
export const queryLimitsPlugin = {
  onParse() {
    return ({ result, replaceParseResult }: { result: unknown; replaceParseResult: (r: unknown) => void }) => {
      if (result && typeof result === 'object' && (result as DocumentNode).kind === Kind.DOCUMENT) {
        const document = result as DocumentNode;
        let refused = checked.get(document);
        if (refused === undefined) checked.set(document, (refused = documentLimits(document)?.message ?? null));
        // A new error each time: errors are per answer (Yoga may add to them).
        if (refused !== null) replaceParseResult(new GraphQLError(refused, { extensions: { code: 'QUERY_TOO_COMPLEX' } }));
      }
    };
  },
};
