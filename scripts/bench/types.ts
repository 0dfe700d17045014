/** What the parent asks of the load runner (passed as JSON in BENCH_LOAD). */
export interface LoadSpec {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  method: 'GET' | 'POST';
  body?: string;
  /** Paths to cycle through; each connection walks the list in order (or, with `randomPaths`, picks one at random each request). */
  paths: string[];
  /** Every request takes a path at random, so that connections do not ask for the same records in step. */
  randomPaths?: boolean;
  /** A file of paths, one a line, read instead of `paths` (too many for the environment variable the spec travels in). */
  pathsFile?: string;
  /** The one status that counts as success (e.g. 201); any other response counts against the scenario. Default: any 2xx. */
  expectStatus?: number;
  /** Stop after this many requests even if time remains (a scenario that uses up a finite pool). */
  maxRequests?: number;
}

/** What the load runner prints on stdout. */
export interface LoadResult {
  completed: number;
  /** Responses with the expected status (any 2xx unless `expectStatus`). */
  ok: number;
  /** Responses that were not ok (with `expectStatus`, every other status, 2xx included). */
  non2xx: number;
  errors: number;
  timeouts: number;
  durationSec: number;
  p50Ms: number;
  p99Ms: number;
  statusCodes: Record<string, number>;
}

/** One line of the report. */
export interface Row {
  scenario: string;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx?: number;
  errors?: number;
}

/** The "rate usage batch" scenario's seeded lines: line n (1..lines) has msisdnPrefix + n in msisdnDigits digits. */
export interface UsageWorld { lines: number; msisdnPrefix: string; msisdnDigits: number }

/** What the parent asks of the usage runner (passed as JSON in BENCH_USAGE). */
export interface UsageSpec extends UsageWorld {
  url: string;
  headers: Record<string, string>;
  duration: number;
  /** Batches in flight at once. */
  concurrency: number;
  batchSize: number;
  /** Batches sent one by one before the clock starts (not counted unless they fail). */
  warmup: number;
  /** Prefix of this run's record ids (unique per run). */
  runId: string;
}

/** What the usage runner prints on stdout. */
export interface UsageResult {
  batches: number;
  /** Sums over the 200 answers. */
  sent: number;
  rated: number;
  rejected: number;
  duplicates: number;
  /** Answers other than 200, by status, and failed requests. */
  statusCodes: Record<string, number>;
  non200: number;
  errors: number;
  firstProblem?: string;
  /** From the first request sent to the last answer read. */
  durationSec: number;
  /** Per batch request, sending to answer read. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the runner itself used (building bodies, JSON), in seconds. */
  runnerCpuSec: number;
}

/** The "redeem voucher" scenario's world: a CSV of serial,pin (activated, unused) and prepaid accounts to credit. */
export interface VoucherWorld {
  /** The batch's PIN download as the server sent it ("serial,pin" header, then one voucher a line). */
  pinsFile: string;
  vouchers: number;
  /** Minor units (EUR cents) of every voucher. */
  faceValue: number;
  /** Prepaid billing account ids, used round-robin. */
  accounts: string[];
}

/** What the parent asks of the voucher runner (passed as JSON in BENCH_VOUCHERS). */
export interface VoucherSpec extends VoucherWorld {
  url: string;
  headers: Record<string, string>;
  duration: number;
  /** Requests in flight at once (one keep-alive connection each). */
  connections: number;
  /** Redemptions sent one by one before the clock starts (not counted unless they fail). */
  warmup: number;
  /** Prefix of this run's Idempotency-Keys (unique per run). */
  runId: string;
}

/** What the voucher runner prints on stdout. */
export interface VoucherResult {
  /** Answers 201 with the expected serial and account, in the timed part. */
  redeemed: number;
  /** Answers other than 201, by status, and failed requests. */
  statusCodes: Record<string, number>;
  non201: number;
  /** 201s whose body did not name the voucher and account asked for. */
  mismatched: number;
  errors: number;
  firstProblem?: string;
  /** PINs sent (warm-up included); a PIN is never sent twice. */
  pinsUsed: number;
  /** The load stopped early because every PIN had been sent. */
  exhausted: boolean;
  /** 201s per account (index into `accounts`), warm-up included: what each balance must hold. */
  perAccount: number[];
  /** From the first timed request sent to the last answer read. */
  durationSec: number;
  /** Per request, sending to answer read (the 201s). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the runner itself used, in seconds. */
  runnerCpuSec: number;
}
