const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

/** `Sun, 06 Nov 1994 08:49:37 GMT`: the form to send. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT`: obsolete, still to be accepted. */
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994`: C's asctime(), obsolete, still to be accepted. */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`);

/**
 * RFC 9110 §5.6.7 HTTP-date in ms since the epoch: the three forms a recipient must accept,
 * exactly as the grammar spells them (case-sensitive, GMT, single spaces, two-digit hours), and
 * undefined for anything else. Date.parse would accept `UTC`, a missing comma or a one-digit
 * hour, which RFC 9111 §5.3 says must count as invalid, so it is not used.
 */
export function parseHttpDate(text: string): number | undefined {
  const value = text.trim();
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC_850.exec(value);
  if (m) return utc(rfc850Year(Number(m[3])), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = ASCTIME.exec(value);
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]), m[3]!, m[4]!, m[5]!);
  return undefined;
}

function utc(year: number, month: string, day: number, hh: string, mm: string, ss: string): number | undefined {
  const h = Number(hh);
  const min = Number(mm);
  const s = Number(ss);
  if (h > 23 || min > 59 || s > 60 || day < 1) return undefined;
  const monthIndex = MONTHS.indexOf(month);
  const ms = Date.UTC(year, monthIndex, day, h, min, Math.min(s, 59));
  // 31 Feb and the like roll into the next month: not a date.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

/** RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century. */
function rfc850Year(twoDigits: number): number {
  const thisYear = new Date().getUTCFullYear();
  let year = Math.floor(thisYear / 100) * 100 + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}
