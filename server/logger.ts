import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Paths pino blanks out wherever they appear, so no token, key or raw SCIM body reaches a log. */
const REDACTED_PATHS = [
  "token",
  "*.token",
  "secret",
  "*.secret",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "adminKey",
  "*.adminKey",
  "password",
  "*.password",
  "body",
  "*.body",
  "credentials",
  "*.credentials",
  "api_token",
  "*.api_token",
  "private_key",
  "*.private_key",
  "client_secret",
  "*.client_secret",
];

/** Creates the process logger (JSON lines on stdout, or on the given stream). */
export function createLogger(level: string, name = "rollcall", destination?: DestinationStream): Logger {
  const options = { name, level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}
