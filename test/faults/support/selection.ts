/**
 * `npm test` globs test/**\/*.test.ts, which includes this folder. The slow fault suites (SIGKILL
 * loops, a PostgreSQL restart, a 100,000-request fuzz) must run only when asked for: when mocha
 * was given test/faults (as `npm run test:faults` does) or ROLLCALL_FAULT_TESTS=1. Stopping the
 * shared PostgreSQL in a plain `npm test` would break everyone else's runs.
 */
export const faultSuitesSelected: boolean =
  process.env.ROLLCALL_FAULT_TESTS === "1" ||
  process.argv.slice(2).some((arg) => !arg.startsWith("-") && arg.replace(/\\/g, "/").includes("test/faults"));

/** `describe` when the fault suites were asked for, `describe.skip` otherwise (they then show as pending). */
export const describeFaults = faultSuitesSelected ? describe : describe.skip;
