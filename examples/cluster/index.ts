// Two brokers and one runtime worker on one redis-server, started by one command:
//   pnpm --filter @enclave-vm/example-cluster start
// It starts redis-server (persistence off; REDIS_URL uses yours instead), a runtime worker, and two
// broker processes, then prints a curl walk-through: a session started on broker A is read, resumed
// and answered on broker B. Ports: PORT_A (3000), PORT_B (3001), RUNTIME_PORT (3002), REDIS_PORT (6380).
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { createRuntimeWorker } from '@enclave-vm/runtime';

const portA = Number(process.env.PORT_A ?? 3000);
const portB = Number(process.env.PORT_B ?? 3001);
const runtimePort = Number(process.env.RUNTIME_PORT ?? 3002);
const redisPort = Number(process.env.REDIS_PORT ?? 6380);

/** redis-server (when started here) and the broker processes. */
const children: ChildProcess[] = [];
const brokers: ChildProcess[] = [];

// 1. Redis, unless one is given.
let redisUrl = process.env.REDIS_URL;
if (redisUrl === undefined) {
  // The shell stops redis-server when this script goes away, however it ends.
  const redis = spawn(
    'sh',
    [
      '-c',
      'redis-server "$@" & server=$!; read _ignored; kill $server 2>/dev/null; wait $server',
      'sh',
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  children.push(redis);
  redisUrl = `redis://127.0.0.1:${redisPort}`;
  await waitForRedis(redisPort);
  console.log(`redis-server listening on ${redisUrl}`);
}

// 2. The runtime worker every broker sends its sessions to.
const worker = createRuntimeWorker({ port: runtimePort, host: '127.0.0.1' });
await worker.start();
console.log(`Runtime worker listening on ws://127.0.0.1:${runtimePort}`);

// 3. Two brokers, each its own process, as behind a load balancer.
await Promise.all([startBroker('A', portA, redisUrl), startBroker('B', portB, redisUrl)]);

const a = `http://localhost:${portA}`;
const b = `http://localhost:${portB}`;
console.log(`
Cluster ready. Walk-through (a session started on broker A, read, resumed and answered on broker B):

# 1. Start a session on A. It calls askUser, a tool no broker knows: it waits for the client.
curl -sN -X POST ${a}/execute -H 'Content-Type: application/json' -D headers.txt \\
  -d '{"code":"const name = await tools.askUser({ question: \\"Name?\\" }); return \\"Hello, \\" + name"}' &
until grep -qi x-session-id headers.txt 2>/dev/null; do sleep 0.1; done
SID=$(grep -i x-session-id headers.txt | tr -d '\\r' | awk '{print $2}')

# 2. Read it on B: the same record (status running, pendingToolCalls ["call_1"]).
curl -s ${b}/sessions/$SID

# 3. Resume its events on B: replayed from seq 1, then live until final.
curl -sN "${b}/sessions/$SID/events?fromSeq=1" &

# 4. Answer the tool call through B; B routes it to A, which runs the session.
curl -s -X POST ${b}/sessions/$SID/tool-result -H 'Content-Type: application/json' \\
  -d '{"callId":"call_1","result":"Ada"}'
# Both streams end with {"type":"final",...,"payload":{"ok":true,"result":"Hello, Ada",...}}

Stop everything with Ctrl-C.`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await Promise.all(brokers.map((child) => stopChild(child, 'SIGTERM')));
  await worker.stop();
  await Promise.all(children.map((child) => stopChild(child)));
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

function startBroker(name: string, port: number, url: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker.ts'], {
    cwd: import.meta.dirname,
    env: {
      ...process.env,
      NAME: name,
      PORT: String(port),
      REDIS_URL: url,
      RUNTIME_URL: `ws://127.0.0.1:${runtimePort}`,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  brokers.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`Broker ${name} exited with code ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      console.log(line);
      if (line.startsWith(`Broker ${name} listening`)) resolve();
    });
  });
}

/** Ends a child: a signal for the brokers, closing its stdin for the rest (and as a fallback). */
function stopChild(child: ChildProcess, signal?: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (signal !== undefined) child.kill(signal);
  child.stdin?.end();
  return exited;
}

async function waitForRedis(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `redis-server did not answer on port ${port}; is it installed (apt-get install redis-server)?`,
  );
}
