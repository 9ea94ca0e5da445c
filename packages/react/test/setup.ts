// Runs before every test file of the react project.
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

// A real sandbox answers these tests: its first run starts a worker thread and compiles QuickJS,
// which takes longer than Testing Library's default one second on a busy machine.
configure({ asyncUtilTimeout: 15_000 });

// Vitest runs without globals, so Testing Library cannot register its own clean-up.
afterEach(cleanup);
