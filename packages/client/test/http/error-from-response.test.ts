import { describe, expect, it } from 'vitest';
import { errorFromResponse } from '../../src/http/error-from-response.js';

describe('errorFromResponse', () => {
  it("keeps the broker's code, message and details, and adds the status and Retry-After", async () => {
    const response = new Response(
      JSON.stringify({
        error: {
          code: 'EVENT_LOG_TRUNCATED',
          message: 'dropped',
          retryable: false,
          details: { firstAvailableSeq: 40 },
        },
      }),
      { status: 410, headers: { 'retry-after': '2' } },
    );
    const error = await errorFromResponse(response, 'GET /sessions/ses_1/events');
    expect(error).toMatchObject({ code: 'EVENT_LOG_TRUNCATED', message: 'dropped', httpStatus: 410 });
    expect(error.details).toEqual({ firstAvailableSeq: 40, status: 410, retryAfterMs: 2000 });
  });

  it("gives a proxy's page a code from its status, retryable for gateway errors", async () => {
    const gateway = await errorFromResponse(
      new Response('<html>Bad Gateway</html>', { status: 502 }),
      'POST /execute',
    );
    expect(gateway).toMatchObject({ code: 'CONNECTION_CLOSED', retryable: true });
    expect(gateway.message).toBe('POST /execute failed with HTTP 502: <html>Bad Gateway</html>');
    const forbidden = await errorFromResponse(new Response('', { status: 403 }), 'GET /health');
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN', retryable: false, details: { status: 403 } });
  });
});
