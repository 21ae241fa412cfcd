/**
 * next_attempt_at of a parked delivery: pending, but not due until its endpoint's circuit closes or
 * the endpoint is enabled again. Far enough in the future to be out of every due scan.
 */
export const PARKED_UNTIL = new Date("9999-01-01T00:00:00.000Z");
