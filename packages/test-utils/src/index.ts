export { freePort } from './free-port.js';
export { seededRandom } from './seeded-random.js';
export { DEFAULT_WAIT_MS, waitUntil } from './wait-until.js';
