import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Free TCP ports on 127.0.0.1, all held open together so that two calls never get the same one. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

export interface BenchServer {
  baseUrl: string;
  apiKey: string;
  pgPort: number;
  pgPassword: string;
  dataDir: string;
  stop(): Promise<void>;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

const alive = (pid: number) => {
  try {
    return process.kill(pid, 0);
  } catch {
    return false;
  }
};

/** A postmaster the server failed to stop (it crashed or was killed) would outlive the bench. */
async function killLeftoverPostgres(dataDir: string) {
  const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid || !alive(pid)) return;
  log(`stopping leftover Postgres (pid ${pid})`);
  process.kill(pid, 'SIGQUIT'); // immediate shutdown: the data is thrown away anyway
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
}

async function waitReady(url: string, child: ChildProcess, ms: number) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited during start-up (code ${child.exitCode ?? child.signalCode})`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    await sleep(200);
  }
  throw new Error(`server not ready after ${ms / 1000} s`);
}

/** The Node flags `npm start` runs the server with (package.json): the bench measures the server as it is started. */
function startFlags(): string[] {
  const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
  if (start[0] !== 'node' || start.at(-1) !== 'src/main.ts') throw new Error(`the start script is not "node ... src/main.ts": ${start.join(' ')}`);
  return start.slice(1, -1);
}

/**
 * Starts `src/main.ts` on its own embedded Postgres in a throw-away DATA_DIR, with its in-process
 * job worker (as `npm start` runs) unless `worker` is false.
 */
export async function startServer({ worker = true, env = {} as Record<string, string> } = {}): Promise<BenchServer> {
  // mkdtemp makes a 0700 dir; the embedded Postgres runs as the "postgres" user and must traverse it.
  const dataDir = mkdtempSync(path.join(tmpdir(), 'telco-bench-'));
  chmodSync(dataDir, 0o755);
  const [port, pgPort] = await freePorts(2);
  const apiKey = randomBytes(30).toString('base64url'); // 40 characters
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...startFlags(), 'src/main.ts'], {
    cwd: root,
    // stdout goes to our stderr: with --json our stdout carries only the result.
    stdio: ['ignore', 2, 2],
    env: {
      ...process.env, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), PORT: String(port), HOST: '127.0.0.1',
      ADMIN_API_KEY: apiKey, RATE_LIMIT_MAX: '0', LOG_LEVEL: 'warn', AUTH_CACHE_SECONDS: '5', DATABASE_URL: '', RUN_WORKER: String(worker), ...env,
    },
  });
  let stopped: Promise<void> | undefined;
  const stop = () => stopped ??= (async () => {
    if (!(await exited(child, 0))) {
      child.kill('SIGTERM');
      if (!(await exited(child, 15_000))) {
        log('server did not stop within 15 s; killing it');
        child.kill('SIGKILL');
        await exited(child, 5_000);
      }
    }
    await killLeftoverPostgres(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  })();
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${baseUrl}/readyz`, child, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const pgPassword = readFileSync(path.join(dataDir, 'pg-password'), 'utf8').trim();
  return { baseUrl, apiKey, pgPort, pgPassword, dataDir, stop };
}
