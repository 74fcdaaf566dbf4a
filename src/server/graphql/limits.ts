/**
 * Bounds on what one GraphQL document may ask for, so a single request cannot make the server
 * compute thousands of proofs: at most MAX_FIELDS field selections and MAX_DEPTH levels.
 */
import { GraphQLError, Kind, type ASTVisitor, type ValidationContext } from 'graphql';

export const MAX_FIELDS = 500;
export const MAX_DEPTH = 12;

export function queryLimits(context: ValidationContext): ASTVisitor {
  let fields = 0;
  let depth = 0;
  let reported = false;
  const report = (message: string) => {
    if (reported) return;
    reported = true;
    context.reportError(new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } }));
  };
  return {
    [Kind.FIELD]: {
      enter() {
        fields++;
        if (fields > MAX_FIELDS) report(`a query may select at most ${MAX_FIELDS} fields`);
      },
    },
    [Kind.SELECTION_SET]: {
      enter() {
        depth++;
        if (depth > MAX_DEPTH) report(`a query may nest at most ${MAX_DEPTH} levels`);
      },
      leave() {
        depth--;
      },
    },
  };
}
