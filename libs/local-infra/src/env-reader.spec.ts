import { describe, expect, it } from 'vitest';
import { envReader } from './env-reader.js';

describe('envReader', () => {
  it('reads trimmed strings, treating blank as unset', () => {
    const { str } = envReader({ A: '  value ', B: '   ', C: undefined }, []);
    expect(str('A')).toBe('value');
    expect(str('B')).toBeUndefined();
    expect(str('C')).toBeUndefined();
    expect(str('MISSING')).toBeUndefined();
  });

  it('reads whole numbers in range and reports others by name, falling back', () => {
    const problems: string[] = [];
    const { int } = envReader({ OK: '65535', LOW: '-1', FRACTION: '1.5', WORD: 'https' }, problems);
    expect(int('OK', 1, 0, 65535)).toBe(65535);
    expect(int('UNSET', 7, 0, 10)).toBe(7);
    expect(int('LOW', 3, 0, 10)).toBe(3);
    expect(int('FRACTION', 3, 0, 10)).toBe(3);
    expect(int('WORD', 3, 0, 10)).toBe(3);
    expect(problems).toEqual([
      'LOW: must be a whole number from 0 to 10 (got "-1")',
      'FRACTION: must be a whole number from 0 to 10 (got "1.5")',
      'WORD: must be a whole number from 0 to 10 (got "https")',
    ]);
  });

  it('reads booleans in any case and reports other words by name, falling back', () => {
    const problems: string[] = [];
    const { bool } = envReader({ Y: 'YES', N: 'off', ONE: '1', BAD: 'maybe' }, problems);
    expect(bool('Y', false)).toBe(true);
    expect(bool('N', true)).toBe(false);
    expect(bool('ONE', false)).toBe(true);
    expect(bool('UNSET', true)).toBe(true);
    expect(bool('BAD', true)).toBe(true);
    expect(problems).toEqual(['BAD: must be true or false (got "maybe")']);
  });
});
