/** An xsd:dateTime (RFC 7643 §2.3.5) parsed for comparison. */
export interface ParsedDateTime {
  /** Normalized text Postgres parses losslessly: upper-case T/Z, `Z` appended when no offset was given. */
  readonly text: string;
  /** Milliseconds since the epoch, for in-memory comparison. */
  readonly instant: number;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))?$/i;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Parses a dateTime strictly. Date.parse alone accepts far too much ("1", "May 5"), and values it
 * accepts that Postgres rejects (year 0, second 60) would turn a bad filter into a 500.
 * A value without an offset is taken as UTC: the RFC leaves it to the server.
 */
export function parseDateTime(value: string): ParsedDateTime | undefined {
  const match = DATE_TIME.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, , offset, offsetHours, offsetMinutes] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (offset && offset.toUpperCase() !== "Z" && (Number(offsetHours) > 14 || Number(offsetMinutes) > 59)) return undefined;
  const text = offset ? value.toUpperCase() : `${value.toUpperCase()}Z`;
  const instant = Date.parse(text);
  if (Number.isNaN(instant)) return undefined;
  return { text, instant };
}
