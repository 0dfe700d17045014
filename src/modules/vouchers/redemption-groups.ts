import { sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { connectionLost, type Db, postgresCode, postgresConstraint, type Tx } from '../../platform/db/client.js';
import { AppError } from '../../platform/http/errors.js';
import { type AnswerRow, storeAnswers } from '../../platform/http/idempotency.js';
import { creditRefusal } from '../billing/index.js';
import { accountKey, type Failure, type FailureSettings, recordFailures } from './pin-failures.js';
import { type Attempt, creditedAlready, redemptionStatement, type Turns, VOUCHER_CREDIT, type Won } from './redemption-statement.js';

export type GroupRedeemed = ReturnType<typeof creditedAlready>;

/**
 * A redemption offered to a group: its attempt, its turns, (with a request key) its answer's row;
 * when the group tried its PIN and redeemed nothing, its `refusal` (a wrong PIN to count), or
 * undefined when it is to redeem on its own (a voucher used or expired, say), and (with a key)
 * `refused`, which stores the refusal as the key's answer once it is counted.
 */
export interface Member {
  attempt: Attempt; turns: Turns; answer?: (redeemed: GroupRedeemed) => AnswerRow;
  refusal: (tx: Tx) => Promise<{ error: AppError; failure: Failure } | undefined>; refused?: (tx: Tx, error: AppError) => void;
}

/** What a group made of a member; undefined: it redeems on its own. */
export type GroupOutcome = { redeemed: GroupRedeemed } | { refused: AppError } | undefined;

interface Waiting { member: Member; pin: string; done: (outcome: GroupOutcome) => void }

/** The group's statement won vouchers that no balance took as it stood: the group is undone. */
class Uncredited extends Error {
  constructor(readonly members: Set<Waiting>) {
    super('a voucher the group won was not credited');
  }
}

/**
 * Failures that undo a group and are no fault: each member redeems on its own, where it is
 * answered. A key answered meanwhile by a refusal from before its transaction, or a voucher's
 * credit already on the ledger, is a unique violation of those two.
 */
const expected = (err: unknown) => err instanceof Uncredited || connectionLost(err) || ['40P01', '40001', '55P03'].includes(postgresCode(err) ?? '')
  || (postgresCode(err) === '23505' && postgresConstraint(err) === 'idempotency_keys_principal_key_pk') || creditRefusal(err, VOUCHER_CREDIT) !== undefined;

/**
 * Redemptions that arrive together, taken in one statement and one commit: under load most of
 * a redemption's cost is per statement and per transaction (turns, the key's answer, BEGIN and
 * COMMIT, and the round trips for them), not per row. A redemption that arrives while no group is
 * running is a group of one at once; those that arrive while groups run wait for the next.
 *
 * The group's statement takes each member's turns (its key's and its account's) and redeems
 * those who get them and are not locked out; a wrong PIN among them is counted in the group's
 * transaction, under the account's turn, as on its own (`Member.refusal`). Any other member (a
 * turn taken, a key answered already, a lockout, a bundle, a voucher used) redeems on its own after
 * it, the usual way, and is answered from there. A voucher won that no balance took as it stands
 * (none opened yet, money past its validity, another currency) undoes the group, which is made
 * again once without those members. If the group fails, every member redeems on its own: nothing
 * of the group was kept, or (a connection lost with the COMMIT in flight) its keys' answers were,
 * and each member's key replays its answer there (a redemption needs a key). The members of a group, and of the groups running at once, name different
 * accounts, PINs and keys: a balance is updated once per statement, and an account's turn, which
 * the group's transaction would hold already, would not keep two of them apart.
 */
export class RedemptionGroups {
  private readonly waiting: Waiting[] = [];
  private running = 0;
  private readonly busy = new Set<string>();
  private readonly counted = { group: (_outcome: 'committed' | 'undone') => {}, members: (_offered: number, _redeemed: number) => {} };

  constructor(
    private readonly db: Db, private readonly settings: FailureSettings & { rechargeValidityDays: number }, private readonly limits: { size: number; groups: number },
    private readonly log: Pick<FastifyBaseLogger, 'warn'>, registry?: Registry,
  ) {
    if (!registry) return;
    const groups = new Counter({ name: 'voucher_redemption_groups_total', help: 'Statements of groups of redemptions, by outcome (undone: rolled back; its members redeemed on their own, or in a second try without those it could not credit)', labelNames: ['outcome'], registers: [registry] });
    const members = new Counter({ name: 'voucher_redemption_group_members_total', help: 'Redemptions offered to a group, by whether a group redeemed them', labelNames: ['made'], registers: [registry] });
    this.counted = {
      group: (outcome) => groups.inc({ outcome }),
      members: (offered, redeemed) => {
        members.inc({ made: 'true' }, redeemed);
        members.inc({ made: 'false' }, offered - redeemed);
      },
    };
  }

  /**
   * What a group made of the member. So many waiting that groups could not take them soon (eight
   * times what the groups running at once take): it redeems on its own at once, where a busy
   * account is refused 429.
   */
  redeem(member: Member): Promise<GroupOutcome> {
    if (this.waiting.length >= this.limits.size * this.limits.groups * 8) return Promise.resolve(undefined);
    return new Promise((done) => {
      this.waiting.push({ member, pin: member.attempt.pinHash.toString('hex'), done });
      this.start();
    });
  }

  private start() {
    while (this.running < this.limits.groups) {
      const group = this.take();
      if (!group.length) return;
      this.running++;
      void this.run(group).finally(() => {
        this.running--;
        for (const w of group) for (const name of names(w)) this.busy.delete(name);
        this.start();
      });
    }
  }

  /** The next group: the first waiting members whose account, PIN and key no group has. */
  private take() {
    const group: Waiting[] = [];
    for (let i = 0; i < this.waiting.length && group.length < this.limits.size;) {
      const w = this.waiting[i]!;
      const mine = names(w);
      if (mine.some((name) => this.busy.has(name))) {
        i++;
        continue;
      }
      for (const name of mine) this.busy.add(name);
      group.push(w);
      this.waiting.splice(i, 1);
    }
    // In PIN order: where the statement's plan goes through the members in order (it does with the
    // vouchers' PIN index), two instances' groups that share PINs lock them in one order and wait for
    // each other rather than in a circle. A deadlock Postgres breaks undoes one group, nothing more.
    return group.sort((a, b) => (a.pin < b.pin ? -1 : a.pin > b.pin ? 1 : 0));
  }

  private async run(group: Waiting[]) {
    let members = group;
    let made = new Map<Waiting, GroupOutcome>();
    for (let again = true; members.length;) {
      try {
        made = await this.db.transaction((tx) => this.made(tx, members));
        this.counted.group('committed');
        break;
      } catch (err) {
        this.counted.group('undone');
        if (!expected(err)) this.log.warn({ err }, 'a group of voucher redemptions failed: its members redeem on their own');
        if (!(err instanceof Uncredited && again)) break;
        again = false;
        members = members.filter((w) => !err.members.has(w));
      }
    }
    this.counted.members(group.length, [...made.values()].filter((o) => o && 'redeemed' in o).length);
    for (const w of group) w.done(made.get(w));
  }

  /** The group's statement, then its members' refusals, then the answers of those it redeemed (sent with the COMMIT). */
  private async made(tx: Tx, members: Waiting[]) {
    // A voucher or balance row held long elsewhere holds up its own redemption, not the others
    // around it: past the timeout the group is undone, and its members redeem on their own (and wait there).
    // Sent, not awaited: it goes out ahead of the statement, whose transaction its failure fails.
    tx.execute(sql`set local lock_timeout = '500ms'`).then(undefined, () => {});
    const rows = await tx.execute<Won>(redemptionStatement(this.settings, members.map((w) => w.member.attempt), members.map((w) => w.member.turns)));
    const uncredited = new Set(rows.filter((r) => r.serial !== null && r.entry_id === null).map((r) => members[Number(r.n) - 1]!));
    if (uncredited.size) throw new Uncredited(uncredited);
    const made = new Map<Waiting, GroupOutcome>();
    const answers: AnswerRow[] = [];
    const wrong: { w: Waiting; error: AppError; failure: Failure }[] = [];
    for (const row of rows) {
      const w = members[Number(row.n) - 1]!;
      if (row.serial === null) {
        const refused = await refusalOrAlone(tx, w.member);
        if (refused) wrong.push({ w, ...refused });
        continue;
      }
      const redeemed = creditedAlready(row, w.member.attempt.billingAccountId, w.member.attempt.lineId);
      made.set(w, { redeemed });
      if (w.member.answer) answers.push(w.member.answer(redeemed));
    }
    // All the group's wrong PINs counted together, their counters taken in the one order every attempt takes them in.
    if (wrong.length) await recordFailures(tx, this.settings, wrong.map((x) => x.failure));
    for (const { w, error } of wrong) {
      w.member.refused?.(tx, error);
      made.set(w, { refused: error });
    }
    // Sent, not awaited: it goes out with the COMMIT, and its failure fails the transaction.
    if (answers.length) storeAnswers(tx, answers).then(undefined, () => {});
    return made;
  }
}

/** A member's refusal, to count; undefined (it redeems on its own) for one that is not counted, or refused before its PIN counts. */
async function refusalOrAlone(tx: Tx, member: Member) {
  try {
    return await member.refusal(tx);
  } catch (err) {
    if (err instanceof AppError) return undefined;
    throw err;
  }
}

function names(w: Waiting) {
  const { attempt, turns } = w.member;
  return [accountKey(attempt.billingAccountId), `pin:${w.pin}`, ...(turns.key === null ? [] : [`key:${turns.principal}:${turns.key}`])];
}
