import { createHash, timingSafeEqual } from 'node:crypto';

/** The `Authorization` header value that carries a shared-secret token. */
export function bearerHeader(token: string): string {
  return `Bearer ${token}`;
}

/**
 * Whether an `Authorization` header carries exactly `Bearer <expected>`. Compares SHA-256 digests
 * with `timingSafeEqual`, so the time taken reveals neither the token nor its length.
 */
export function isAuthorizedBearer(header: string | undefined, expected: string): boolean {
  if (header === undefined) return false;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  const presented = match?.[1] ?? '';
  const presentedDigest = createHash('sha256').update(presented).digest();
  const expectedDigest = createHash('sha256').update(expected).digest();
  // Evaluate both conditions every time so a missing scheme costs the same as a wrong token.
  const digestsEqual = timingSafeEqual(presentedDigest, expectedDigest);
  return match !== null && digestsEqual;
}
