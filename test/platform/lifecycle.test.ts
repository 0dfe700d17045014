/*
 * The server as a real process (what `npm start` runs): start-up with the embedded Postgres,
 * graceful stop on SIGTERM and on a Ctrl-C to the whole process group, data kept across restarts,
 * recovery after a crash that left the detached Postgres running, in-flight requests finishing
 * during shutdown, and a bad configuration refused up front.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ADMIN_KEY = 'lifecycle-admin-key-0123456789abcdef';
const STOP_WITHIN_MS = 10_000;
const READY_WITHIN_MS = 45_000;

// ---------------------------------------------------------------- processes

interface Exit { code: number | null; signal: NodeJS.Signals | null }

interface Server {
  child: ChildProcess;
  pid: number;
  port: number;
  dataDir: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  hasExited(): boolean;
}

const tempDirs: string[] = [];
const servers: Server[] = [];

function tempDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-lifecycle-'));
  chmodSync(dir, 0o755); // the postgres OS user must reach it when tests run as root
  tempDirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    }).on('error', reject);
  });
}

function startServer(opts: { dataDir: string; port: number; pgPort: number; env?: Record<string, string> }): Server {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the test runner's own environment may steer the server elsewhere.
  for (const k of ['DATABASE_URL', 'NODE_ENV', 'AUTH_SECRET', 'DATA_ENCRYPTION_KEYS', 'DATA_HASH_KEY', 'RUN_WORKER', 'SHUTDOWN_TIMEOUT_MS']) delete env[k];
  Object.assign(env, {
    DATA_DIR: opts.dataDir, PORT: String(opts.port), EMBEDDED_PG_PORT: String(opts.pgPort), HOST: '127.0.0.1',
    ADMIN_API_KEY: ADMIN_KEY, LOG_LEVEL: 'info', RATE_LIMIT_MAX: '0', ...opts.env,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; });
  let done = false;
  // 'exit', not 'close': an orphaned grandchild holding a pipe must not hide the exit.
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => { done = true; resolve({ code, signal }); });
  });
  const server: Server = {
    child, pid: child.pid!, port: opts.port, dataDir: opts.dataDir,
    stdout: () => out, stderr: () => err, exited, hasExited: () => done,
  };
  servers.push(server);
  return server;
}

const describeOutput = (s: Server) => `--- stdout ---\n${s.stdout().slice(-6000)}\n--- stderr ---\n${s.stderr().slice(-6000)}`;

async function waitExit(s: Server, ms = STOP_WITHIN_MS): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`process ${s.pid} did not exit within ${ms} ms\n${describeOutput(s)}`)), ms);
  });
  try {
    return await Promise.race([s.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Pino lines at error level or above, on either stream; and any stderr text that is not a log line. */
function errorOutput(s: Server): string[] {
  const bad: string[] = [];
  for (const [stream, text] of [['stdout', s.stdout()], ['stderr', s.stderr()]] as const) {
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let parsed: unknown;
      try { parsed = JSON.parse(line); } catch { parsed = undefined; }
      const level = (parsed as { level?: unknown } | undefined)?.level;
      if (typeof level === 'number') {
        if (level >= 50) bad.push(`${stream}: ${line}`);
      } else if (stream === 'stderr') {
        bad.push(`stderr: ${line}`);
      }
    }
  }
  return bad;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const pgDataOf = (dataDir: string) => path.join(dataDir, 'pg');

function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(pgDataOf(dataDir), 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

/** Live processes whose command line names this data directory's cluster (postmaster and backends). */
function postgresProcessesFor(dataDir: string): number[] {
  const needle = pgDataOf(dataDir);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try { cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8'); } catch { continue; }
    if (cmdline.split('\0').includes(needle)) found.push(Number(entry));
  }
  return found;
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------- HTTP (no keep-alive: servers come and go on the same port)

interface Res { status: number; body: any; text: string }

function http(port: number, method: string, url: string, body?: unknown, auth = true): Promise<Res> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = `Bearer ${ADMIN_KEY}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const req = request({ host: '127.0.0.1', port, method, path: url, headers, agent: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (s: string) => { text += s; });
      res.on('end', () => {
        let parsed: unknown;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Ready = /readyz answers 200 and start-up has finished. /readyz turns 200 as soon as the HTTP server
 * listens, before main.ts has started the job worker; a signal in that window makes start-up fail
 * with an error log (a bug of src/main.ts, reported separately), so the clean-stop cases wait for
 * the last start-up log line as well.
 */
async function waitReady(s: Server): Promise<void> {
  await until(`GET /readyz = 200 on port ${s.port}`, READY_WITHIN_MS, async () => {
    if (s.hasExited()) throw new Error(`server exited before it was ready\n${describeOutput(s)}`);
    try {
      return (await http(s.port, 'GET', '/readyz', undefined, false)).status === 200 ? true : undefined;
    } catch {
      return undefined; // not listening yet
    }
  });
  await until('the end of start-up ("using embedded Postgres")', READY_WITHIN_MS, () => {
    if (s.hasExited()) throw new Error(`server exited during start-up\n${describeOutput(s)}`);
    return s.stdout().includes('"msg":"using embedded Postgres"') ? true : undefined;
  });
}

const ada = { type: 'individual', givenName: 'Ada', familyName: 'Lovelace' };

async function createCustomer(port: number, body: Record<string, unknown> = ada): Promise<string> {
  const res = await http(port, 'POST', '/v1/customers', body);
  expect(res.status, res.text).toBe(201);
  expect(typeof res.body.id).toBe('string');
  return res.body.id as string;
}

async function expectCustomer(port: number, id: string, familyName = 'Lovelace') {
  const res = await http(port, 'GET', `/v1/customers/${id}`);
  expect(res.status, res.text).toBe(200);
  expect(res.body).toMatchObject({ id, givenName: 'Ada', familyName });
}

/** A clean stop: exit code 0 in time, no error logged, and the cluster of this data dir is gone. */
async function expectCleanStop(s: Server, postmaster: number) {
  const exit = await waitExit(s);
  expect(exit, describeOutput(s)).toEqual({ code: 0, signal: null });
  expect(errorOutput(s)).toEqual([]);
  expect(s.stdout()).toMatch(/"msg":"stopped"/);
  const pid = postmasterPid(s.dataDir);
  if (pid !== undefined) expect(alive(pid), `postmaster ${pid} still running`).toBe(false);
  expect(alive(postmaster), `postmaster ${postmaster} still running`).toBe(false);
  expect(postgresProcessesFor(s.dataDir)).toEqual([]);
}

// ---------------------------------------------------------------- clean-up, even on failure

afterAll(async () => {
  for (const s of servers) {
    // The group is surely ours while its leader (our child) has not exited.
    if (!s.hasExited()) {
      try { process.kill(-s.pid, 'SIGKILL'); } catch { /* gone */ }
      await waitExit(s, 5_000).catch(() => {});
    }
  }
  for (const dir of tempDirs) {
    // A postmaster left by a crash: stop it only when it is verifiably this directory's.
    for (const pid of postgresProcessesFor(dir)) {
      if (pid === postmasterPid(dir)) { try { process.kill(pid, 'SIGINT'); } catch { /* gone */ } }
    }
    const deadline = Date.now() + 10_000;
    while (postgresProcessesFor(dir).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const pid of postgresProcessesFor(dir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

// ---------------------------------------------------------------- the cases

describe('server process lifecycle (embedded Postgres)', () => {
  let dataDir: string;
  let port: number;
  let pgPort: number;
  let adaId: string | undefined;

  beforeAll(async () => {
    dataDir = tempDataDir();
    port = await freePort();
    pgPort = await freePort();
  });

  const start = () => startServer({ dataDir, port, pgPort });

  it('starts on an empty DATA_DIR, serves, and stops cleanly on SIGTERM', async () => {
    const s = start();
    await waitReady(s);
    adaId = await createCustomer(port);
    const postmaster = postmasterPid(dataDir);
    expect(postmaster).toBeDefined();
    expect(alive(postmaster!)).toBe(true);

    process.kill(s.pid, 'SIGTERM');
    await expectCleanStop(s, postmaster!);
    expect(s.stdout()).toMatch(/"signal":"SIGTERM","msg":"shutting down"/);
  }, 60_000);

  it('keeps the data across a restart, and stops cleanly on Ctrl-C to the process group', async () => {
    expect(adaId, 'needs the customer of the first case').toBeDefined();
    const s = start();
    await waitReady(s);
    await expectCustomer(port, adaId!);
    const postmaster = postmasterPid(dataDir)!;
    expect(alive(postmaster)).toBe(true);

    process.kill(-s.pid, 'SIGINT'); // as a terminal's Ctrl-C: every process of the group
    await expectCleanStop(s, postmaster);
    expect(s.stdout()).toMatch(/"signal":"SIGINT","msg":"shutting down"/);
  }, 60_000);

  it('comes back after a crash that left the detached Postgres running, with committed data', async () => {
    const s = start();
    await waitReady(s);
    const grace = await createCustomer(port, { ...ada, familyName: 'Byron' });
    const orphan = postmasterPid(dataDir)!;
    expect(alive(orphan)).toBe(true);

    process.kill(s.pid, 'SIGKILL'); // the node process alone, not its group
    expect(await waitExit(s)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(alive(orphan), 'the detached Postgres outlives a crash of node').toBe(true);

    const again = start();
    await waitReady(again);
    expect(alive(orphan), 'the leftover postmaster was stopped').toBe(false);
    await expectCustomer(port, grace, 'Byron');
    if (adaId) await expectCustomer(port, adaId);
    const postmaster = postmasterPid(dataDir)!;
    expect(postmaster).not.toBe(orphan);

    process.kill(again.pid, 'SIGTERM');
    await expectCleanStop(again, postmaster);
  }, 60_000);

  it('never signals a stranger whose pid a stale postmaster.pid names', async () => {
    // After a reboot the old postmaster's pid may belong to anything; we run as root.
    const stranger = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
      expect(existsSync(pidFile)).toBe(false);
      writeFileSync(pidFile, `${stranger.pid}\n${path.join(dataDir, 'pg')}\n`);
      const s = start();
      await waitReady(s);
      expect(alive(stranger.pid!), 'the unrelated process was left alone').toBe(true);
      const postmaster = postmasterPid(dataDir)!;
      expect(postmaster).not.toBe(stranger.pid);
      process.kill(s.pid, 'SIGTERM');
      await expectCleanStop(s, postmaster);
    } finally {
      stranger.kill('SIGKILL');
    }
  }, 60_000);

  it('lets requests in flight finish when SIGTERM arrives', async () => {
    const s = start();
    await waitReady(s);
    const postmaster = postmasterPid(dataDir)!;
    const n = 5;
    const before = s.stdout().length;
    const pending = Array.from({ length: n }, (_, i) => http(port, 'POST', '/v1/customers', { ...ada, familyName: `InFlight${i}` }));
    // Deterministic instead of a sleep: every request has reached the server (logged as incoming).
    await until(`${n} incoming POST /v1/customers`, 10_000, () => {
      const seen = s.stdout().slice(before).split('\n').filter((l) => l.includes('"msg":"incoming request"') && l.includes('"method":"POST"')).length;
      return seen >= n ? true : undefined;
    });
    process.kill(s.pid, 'SIGTERM');
    const results = await Promise.all(pending);
    for (const r of results) {
      expect(r.status, r.text).toBe(201);
      expect(typeof r.body.id).toBe('string');
    }
    await expectCleanStop(s, postmaster);
  }, 60_000);

  it('refuses a bad configuration value naming the variable, without touching DATA_DIR', async () => {
    const empty = tempDataDir();
    const s = startServer({ dataDir: empty, port, pgPort, env: { PORT: 'notaport' } });
    const exit = await waitExit(s, 30_000);
    expect(exit.code, describeOutput(s)).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(s.stderr()).toMatch(/^\s*PORT:/m);
    expect(readdirSync(empty)).toEqual([]);
  }, 60_000);
});
