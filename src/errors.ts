/**
 * The one error base. Every error a caller can act on is a PedigreeError with a stable `code`;
 * callers branch on the code (or the subclass), never on the message. Subclasses name the
 * part of the program they come from and narrow the codes. Pure: the page shares it.
 */
export class PedigreeError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
