import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

/**
 * The keep-alive connection pools of one source: one for `http:`, one for `https:`, made on first
 * use. Reusing connections is what keeps an operation call close to the cost of the request itself.
 */
export class HttpAgents {
  private http: HttpAgent | undefined;
  private https: HttpsAgent | undefined;

  /** The pool for a URL's protocol. */
  for(url: URL): HttpAgent | HttpsAgent {
    if (url.protocol === 'https:') {
      this.https ??= new HttpsAgent({ keepAlive: true });
      return this.https;
    }
    this.http ??= new HttpAgent({ keepAlive: true });
    return this.http;
  }

  /** Closes every pooled connection (requests under way are aborted by their own signal). */
  close(): void {
    this.http?.destroy();
    this.https?.destroy();
    this.http = undefined;
    this.https = undefined;
  }
}
