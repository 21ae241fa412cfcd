import { expect } from "chai";
import {
  afterAttempt,
  afterAttempts,
  cooldownMs,
  HEALTHY,
  isOpen,
  type BreakerAttempt,
  type CircuitPolicy,
  type EndpointHealth,
} from "../../server/webhooks/circuitBreaker.ts";
import { createManualClock } from "../helpers/webhookReceiver.ts";

const HOUR = 3_600_000;
const policy: CircuitPolicy = { failureThreshold: 3, cooldownsMs: [5_000, 60_000, 600_000], disableAfterMs: 24 * HOUR };

describe("webhook circuit breaker (pure, injected clock)", () => {
  const clock = createManualClock(new Date("2026-12-07T00:00:00.000Z"));
  beforeEach(() => clock.set(new Date("2026-12-07T00:00:00.000Z")));

  /** Feeds one attempt at the clock's time and advances the clock by `thenMs`. */
  function attempt(health: EndpointHealth, ok: boolean, probe = false, thenMs = 0) {
    const result = afterAttempt(health, { ok, at: clock.now(), probe }, clock.now(), policy);
    clock.advance(thenMs);
    return result;
  }

  it("stays closed below the failure threshold and counts the streak from its first failure", () => {
    const start = clock.now();
    let health = attempt(HEALTHY, false, false, 1_000).health;
    const second = attempt(health, false);
    health = second.health;
    expect(second.transition).to.equal("none");
    expect(health).to.deep.equal({ consecutiveFailures: 2, failingSince: start, openUntil: null });
    expect(isOpen(health)).to.equal(false);
  });

  it("opens after N consecutive failures, backing off for the first cooldown", () => {
    let health = HEALTHY;
    for (let i = 0; i < 2; i++) health = attempt(health, false).health;
    const third = attempt(health, false);
    expect(third.transition).to.equal("opened");
    expect(third.health.openUntil).to.deep.equal(new Date(clock.now().getTime() + 5_000));
  });

  it("a success in between resets the streak, so intermittent failures never open it", () => {
    let health = HEALTHY;
    for (let round = 0; round < 10; round++) {
      health = attempt(health, false).health;
      health = attempt(health, false).health;
      const ok = attempt(health, true);
      expect(ok.transition).to.equal("none");
      health = ok.health;
    }
    expect(health).to.deep.equal(HEALTHY);
  });

  it("closes when the probe succeeds", () => {
    let health = HEALTHY;
    for (let i = 0; i < 3; i++) health = attempt(health, false).health;
    clock.advance(5_000);
    const probe = attempt(health, true, true);
    expect(probe).to.deep.equal({ health: HEALTHY, transition: "closed" });
  });

  it("re-opens with the next, longer cooldown when the probe fails, and repeats the last cooldown", () => {
    let health = HEALTHY;
    for (let i = 0; i < 3; i++) health = attempt(health, false).health;
    const waits: number[] = [];
    for (let probe = 0; probe < 4; probe++) {
      clock.set(health.openUntil!);
      const result = attempt(health, false, true);
      expect(result.transition).to.equal("reopened");
      waits.push(result.health.openUntil!.getTime() - clock.now().getTime());
      health = result.health;
    }
    expect(waits).to.deep.equal([60_000, 600_000, 600_000, 600_000]);
  });

  it("ignores for re-opening the failures of requests that were in flight when it opened", () => {
    let health = HEALTHY;
    for (let i = 0; i < 3; i++) health = attempt(health, false).health;
    const openUntil = health.openUntil;
    const late = attempt(health, false, false);
    expect(late.transition).to.equal("none");
    expect(late.health.openUntil).to.deep.equal(openUntil);
    expect(late.health.consecutiveFailures).to.equal(4);
  });

  it("disables the endpoint when a probe fails after the streak lasted disableAfterMs", () => {
    const start = clock.now();
    let health = HEALTHY;
    for (let i = 0; i < 3; i++) health = attempt(health, false).health;
    clock.set(new Date(start.getTime() + 24 * HOUR - 1));
    const early = attempt(health, false, true, 1);
    expect(early.transition).to.equal("reopened");
    const late = attempt(early.health, false, true);
    expect(late.transition).to.equal("disabled");
    expect(late.health).to.deep.equal({ consecutiveFailures: 5, failingSince: start, openUntil: null });
  });

  it("never disables when disableAfterMs is 0", () => {
    const forever = { ...policy, disableAfterMs: 0 };
    let health = HEALTHY;
    for (let i = 0; i < 3; i++) health = afterAttempt(health, { ok: false, at: clock.now(), probe: false }, clock.now(), forever).health;
    clock.advance(365 * 24 * HOUR);
    expect(afterAttempt(health, { ok: false, at: clock.now(), probe: true }, clock.now(), forever).transition).to.equal("reopened");
  });

  it("folds a batch of attempts in the order they started and names the net change", () => {
    const t = (s: number) => new Date(clock.now().getTime() + s * 1_000);
    const failures: BreakerAttempt[] = [3, 1, 2].map((s) => ({ ok: false, at: t(s), probe: false }));
    const opened = afterAttempts(HEALTHY, failures, t(4), policy);
    expect(opened.transition).to.equal("opened");
    expect(opened.health.failingSince).to.deep.equal(t(1));

    const recovered = afterAttempts(opened.health, [{ ok: true, at: t(10), probe: true }], t(11), policy);
    expect(recovered).to.deep.equal({ health: HEALTHY, transition: "closed" });
    expect(afterAttempts(HEALTHY, [{ ok: true, at: t(1), probe: false }], t(2), policy).transition).to.equal("none");
  });

  it("picks cooldowns by the number of failed probes, clamped to the list", () => {
    expect([-1, 0, 1, 2, 9].map((n) => cooldownMs(policy, n))).to.deep.equal([5_000, 5_000, 60_000, 600_000, 600_000]);
  });
});
