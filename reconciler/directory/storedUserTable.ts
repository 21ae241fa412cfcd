
/*
 * The stored side of a full directory pass, packed: a directory of 100,000 users held as 100,000
 * objects of seven fields plus three Maps keyed by strings came to ~43 MB of live heap, and V8 lets
 * the heap grow to a multiple of what is live before it collects, so that was ~300 MB of RSS
 * (BENCHMARKS.md, directory section). Here each user is one string (its fields joined by NUL, which
 * PostgreSQL text cannot hold) plus one flag byte, and the lookups by externalId, userName, email
 * and claiming IdP id are open-addressing hash tables of Int32Array slots: no per-entry objects.
 * Pure: no database, no Koa.
 */

/** A stored user of the connection, as compact as the diff needs it. */
export type StoredUser = {
  id: string;
  externalId: string | null;
  userName: string;
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  active: boolean;
};

const SEP = "\u0000";
const FIELDS = ["id", "externalId", "userName", "email", "givenName", "familyName"] as const;
const ACTIVE = 1 << 7;

/** FNV-1a over UTF-16 code units, kept to 30 bits so it stays a small integer. */
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x3fffffff;
}

/**
 * A multimap from string keys to row numbers: linear probing over an Int32Array (0 = empty, else
 * row + 1). Keys are not stored; a probe yields every row in the key's run and the caller checks
 * the row's own value, so a hash collision costs a comparison, never a wrong answer.
 */
class RowIndex {
  private slots = new Int32Array(1024);
  private used = 0;

  constructor(private readonly keyOf: (row: number) => string | null) {}

  add(key: string, row: number): void {
    if ((this.used + 1) * 2 > this.slots.length) this.grow();
    this.place(hash(key), row + 1);
    this.used += 1;
  }

  /** Rows whose key equals `key` (in insertion order of their slots). */
  find(key: string): number[] {
    const found: number[] = [];
    const mask = this.slots.length - 1;
    for (let at = hash(key) & mask; this.slots[at] !== 0; at = (at + 1) & mask) {
      const row = this.slots[at]! - 1;
      if (this.keyOf(row) === key) found.push(row);
    }
    return found;
  }

  private place(h: number, value: number): void {
    const mask = this.slots.length - 1;
    let at = h & mask;
    while (this.slots[at] !== 0) at = (at + 1) & mask;
    this.slots[at] = value;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    for (const value of old) {
      if (value === 0) continue;
      const key = this.keyOf(value - 1);
      if (key !== null) this.place(hash(key), value);
    }
  }
}

/** Stored users, packed, with the diff's lookups. Row numbers are positions in insertion order. */
export class StoredUserTable {
  private readonly records: string[] = [];
  private flags = new Uint8Array(1024);
  /** row → the IdP id that claimed it (a full pass claims nearly every row). */
  private readonly claimers: Array<string | undefined> = [];
  private readonly byExternalId = new RowIndex((row) => this.field(row, 1));
  private readonly byUserName = new RowIndex((row) => lowerOrNull(this.field(row, 2)));
  private readonly byEmail = new RowIndex((row) => lowerOrNull(this.field(row, 3)));
  private readonly byClaimer = new RowIndex((row) => this.claimers[row] ?? null);

  get size(): number {
    return this.records.length;
  }

  add(user: StoredUser): void {
    const row = this.records.length;
    let nulls = 0;
    const parts = FIELDS.map((name, i) => {
      const value = user[name];
      if (value === null) nulls |= 1 << i;
      return value ?? "";
    });
    this.records.push(parts.join(SEP));
    if (row >= this.flags.length) {
      const bigger = new Uint8Array(this.flags.length * 2);
      bigger.set(this.flags);
      this.flags = bigger;
    }
    this.flags[row] = nulls | (user.active ? ACTIVE : 0);
    if (user.externalId !== null) this.byExternalId.add(user.externalId, row);
    this.byUserName.add(user.userName.toLowerCase(), row);
    if (user.email !== null) this.byEmail.add(user.email.toLowerCase(), row);
  }

  /** The row as the diff reads it (a fresh, short-lived object). */
  user(row: number): StoredUser {
    const parts = this.records[row]!.split(SEP);
    const flags = this.flags[row]!;
    const at = (i: number) => ((flags >> i) & 1 ? null : parts[i]!);
    return { id: parts[0]!, externalId: at(1), userName: parts[2]!, email: at(3), givenName: at(4), familyName: at(5), active: (flags & ACTIVE) !== 0 };
  }

  isActive(row: number): boolean {
    return (this.flags[row]! & ACTIVE) !== 0;
  }

  withExternalId(key: string): number[] {
    return this.byExternalId.find(key);
  }

  /** Rows whose userName equals `lowerKey` case-insensitively (the key is already lower-cased). */
  withUserName(lowerKey: string): number[] {
    return this.byUserName.find(lowerKey);
  }

  withEmail(lowerKey: string): number[] {
    return this.byEmail.find(lowerKey);
  }

  claimerOf(row: number): string | undefined {
    return this.claimers[row];
  }

  /** Records that the IdP user `idpId` stands for the row (the first claim holds). */
  claim(row: number, idpId: string): void {
    if (this.claimers[row] !== undefined) return;
    this.claimers[row] = idpId;
    this.byClaimer.add(idpId, row);
  }

  /** The stored user id an IdP user was matched to, if it was. */
  claimedBy(idpId: string): string | undefined {
    const [row] = this.byClaimer.find(idpId);
    return row === undefined ? undefined : this.idOf(row);
  }

  idOf(row: number): string {
    const record = this.records[row]!;
    return record.slice(0, record.indexOf(SEP));
  }

  private field(row: number, i: number): string | null {
    if ((this.flags[row]! >> i) & 1) return null;
    const record = this.records[row]!;
    let start = 0;
    for (let k = 0; k < i; k++) start = record.indexOf(SEP, start) + 1;
    const end = record.indexOf(SEP, start);
    return record.slice(start, end === -1 ? undefined : end);
  }
}

const lowerOrNull = (v: string | null) => (v === null ? null : v.toLowerCase());
