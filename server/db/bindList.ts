/**
 * Collects bind values while a statement is composed from parts; add() returns the value's `$n`.
 * `offset` counts the parameters the statement already has before these (a compiled SCIM filter
 * goes after the organization id). Free of any database module, so pure compilers can use it.
 */
export class BindList {
  readonly values: unknown[] = [];

  constructor(private readonly offset = 0) {}

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}`;
  }
}
