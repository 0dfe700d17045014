import { describe, expect, it } from 'vitest';
import { parseQuietHours, quietUntil } from '../../../src/modules/campaigns/send-rules.js';
import { turnsOf } from '../../../src/modules/campaigns/send-rate.js';

const night = parseQuietHours('21:00-08:00');
describe('quiet hours', () => {
  it.each([
    ['22:30 in Berlin (21:30 UTC, winter): quiet until 08:00 Berlin', '2026-01-15T21:30:00Z', 'Europe/Berlin', '2026-01-16T07:00:00.000Z'],
    ['07:59 in Berlin: one more minute', '2026-01-16T06:59:00Z', 'Europe/Berlin', '2026-01-16T07:00:00.000Z'],
    ['08:00 in Berlin: not quiet', '2026-01-16T07:00:00Z', 'Europe/Berlin', null],
    ['noon in Tokyo is 03:00 UTC: not quiet there', '2026-01-16T03:00:00Z', 'Asia/Tokyo', null],
    ['23:00 in New York, the night the clocks go back (1 Nov 2026): 08:00 EST', '2026-11-01T03:00:00Z', 'America/New_York', '2026-11-01T13:00:00.000Z'],
    ['02:30 in Berlin the night clocks go forward (29 Mar 2026 00:30 UTC): 08:00 CEST', '2026-03-29T00:30:00Z', 'Europe/Berlin', '2026-03-29T06:00:00.000Z'],
  ])('%s', (_name, now, zone, until) => {
    expect(quietUntil(new Date(now), zone, night)?.toISOString() ?? null).toBe(until);
  });

  it('a daytime window, and none at all', () => {
    expect(quietUntil(new Date('2026-01-16T12:30:00Z'), 'UTC', parseQuietHours('12:00-13:00'))?.toISOString()).toBe('2026-01-16T13:00:00.000Z');
    expect(quietUntil(new Date('2026-01-16T23:00:00Z'), 'UTC', parseQuietHours(''))).toBeNull();
  });
});

describe('send-rate turns', () => {
  const rates = { sms: 100, email: 50, campaigns: 20 };
  it('an SMS takes a turn of the SMSC per part, a campaign message one of the campaigns\' limit besides', () => {
    expect(turnsOf({ channel: 'sms', campaignId: null, body: 'Balance low' }, rates)).toEqual([{ name: 'sms', seconds: 0.01 }]);
    expect(turnsOf({ channel: 'sms', campaignId: 'c', body: 'x'.repeat(161) }, rates)).toEqual([{ name: 'sms', seconds: 0.02 }, { name: 'campaigns', seconds: 0.05 }]);
    expect(turnsOf({ channel: 'email', campaignId: 'c', body: 'Hello' }, rates)).toEqual([{ name: 'email', seconds: 0.02 }, { name: 'campaigns', seconds: 0.05 }]);
    expect(turnsOf({ channel: 'email', campaignId: null, body: 'Hello' }, { sms: null, email: null, campaigns: null })).toEqual([]);
  });
});
