import { EnclaveError } from '@enclave-vm/types';

const EXCERPT_LENGTH = 80;

/**
 * The error for a line that `JSON.parse` rejected: `undefined` when the line is blank (only
 * whitespace, such as a lone `\r`), which NDJSON readers skip, otherwise a `DECODE_ERROR` naming the
 * 1-based `lineNumber`. Called only after a failed parse, so well-formed lines pay nothing for it.
 */
export function unparsableLineError(
  line: string,
  lineNumber: number,
  cause: unknown,
): EnclaveError | undefined {
  if (line.trim() === '') return undefined;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const excerpt = line.length > EXCERPT_LENGTH ? `${line.slice(0, EXCERPT_LENGTH)}…` : line;
  return new EnclaveError('DECODE_ERROR', `NDJSON line ${lineNumber} is not valid JSON: ${reason}`, {
    cause,
    details: { line: lineNumber, excerpt },
  });
}

/** The `LINE_TOO_LONG` error for line `lineNumber`, which is skipped. */
export function lineTooLongError(lineNumber: number, maxLineSize: number): EnclaveError {
  return new EnclaveError(
    'LINE_TOO_LONG',
    `NDJSON line ${lineNumber} is longer than the maximum of ${maxLineSize} characters and was skipped`,
    { cause: undefined, details: { line: lineNumber, maxLineSize } },
  );
}

/**
 * Whether a line of `length` code units (line break excluded) exceeds `maxLineSize`. A line one
 * longer that ends in `\r` fits: the `\r` belongs to a `\r\n` line break.
 */
export function exceedsMaxLineSize(length: number, lastCharacterCode: number, maxLineSize: number): boolean {
  return length > maxLineSize && !(length === maxLineSize + 1 && lastCharacterCode === CARRIAGE_RETURN);
}

/** Character code of `\r`. */
export const CARRIAGE_RETURN = 13;
