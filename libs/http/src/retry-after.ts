/**
 * RFC 9110 §10.2.3 Retry-After: `delay-seconds` or an HTTP-date. Returns milliseconds from `now`
 * (never negative), or undefined when absent or not one of the grammar's forms. Parsed by hand:
 * `Date.parse` reads asctime as local time and accepts forms the grammar does not (ISO 8601,
 * "2026-11-23", free text on some engines), so a junk header would silently become a wait.
 */
export function parseRetryAfter(header: string | null | undefined, now: Date): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) {
    const seconds = Number(value);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  const at = parseHttpDate(value, now);
  return at === undefined ? undefined : Math.max(0, at - now.getTime());
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const SHORT_DAY = 'Mon|Tue|Wed|Thu|Fri|Sat|Sun';
const LONG_DAY = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// RFC 9110 §5.6.7: IMF-fixdate, plus the obsolete RFC 850 and asctime forms recipients must
// accept. Names are case-sensitive in the grammar; all three are UTC (asctime carries no zone).
const IMF_FIXDATE = new RegExp(`^(?:${SHORT_DAY}), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(`^(?:${LONG_DAY}), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^(?:${SHORT_DAY}) (${MONTH}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

interface DateParts {
  year: number;
  month: string;
  day: string;
  time: [string, string, string];
}

function partsOf(value: string, now: Date): DateParts | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m) return { day: m[1], month: m[2], year: Number(m[3]), time: [m[4], m[5], m[6]] };
  m = RFC_850.exec(value);
  if (m) {
    // RFC 9110 §5.6.7: a two-digit year that would be more than 50 years in the future is the
    // most recent past year with the same last two digits.
    const thisYear = now.getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return { day: m[1], month: m[2], year, time: [m[4], m[5], m[6]] };
  }
  m = ASCTIME.exec(value);
  if (m) return { month: m[1], day: m[2].trim(), time: [m[3], m[4], m[5]], year: Number(m[6]) };
  return undefined;
}

/** Milliseconds since the epoch of an HTTP-date (RFC 9110 §5.6.7), or undefined. */
export function parseHttpDate(value: string, now: Date = new Date()): number | undefined {
  const parts = partsOf(value, now);
  if (parts === undefined) return undefined;
  const month = MONTHS.indexOf(parts.month);
  const day = Number(parts.day);
  const [hour, minute, second] = parts.time.map(Number) as [number, number, number];
  // The grammar allows second 60 (a leap second); Date.UTC rolls it into the next minute.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const at = Date.UTC(parts.year, month, day, hour, minute, second === 60 ? 59 : second) + (second === 60 ? 1000 : 0);
  // 31 Nov and the like would roll into the next month: not a date.
  const check = new Date(Date.UTC(parts.year, month, day));
  if (day < 1 || check.getUTCMonth() !== month || check.getUTCDate() !== day) return undefined;
  return at;
}
