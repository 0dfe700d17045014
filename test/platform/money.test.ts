import { describe, expect, it } from 'vitest';
import { formatMoney, minorUnits } from '../../src/platform/http/money.js';

describe('money as a document prints it', () => {
  it.each([
    { minor: 1250, currency: 'EUR', text: '12.50 EUR' },
    { minor: 5, currency: 'EUR', text: '0.05 EUR' },
    { minor: -119, currency: 'EUR', text: '-1.19 EUR' },
    { minor: 0, currency: 'EUR', text: '0.00 EUR' },
    { minor: 1250, currency: 'JPY', text: '1250 JPY' },
    { minor: 1250, currency: 'BHD', text: '1.250 BHD' },
    { minor: 1250, currency: 'HUF', text: '12.50 HUF' }, // ISO 4217 says 2, whatever Intl displays
    { minor: 7, currency: 'IQD', text: '0.007 IQD' },
    { minor: 12345, currency: 'CLF', text: '1.2345 CLF' },
  ])('$minor $currency is "$text"', ({ minor, currency, text }) => {
    expect(formatMoney(minor, currency)).toBe(text);
  });

  it('an unknown code has two minor units', () => {
    expect(minorUnits('XYZ')).toBe(2);
  });
});
