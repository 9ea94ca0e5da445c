export { freePort } from './free-port.js';
export { type RecordingLogger, recordingLogger } from './recording-logger.js';
export { seededRandom } from './seeded-random.js';
export { DEFAULT_WAIT_MS, waitUntil } from './wait-until.js';
