import type { DirectoryConfig } from "../settings.ts";
import type { HttpOptions } from "./http.ts";
import { entraConnector } from "./entra.ts";
import { googleConnector } from "./google.ts";
import { oktaConnector } from "./okta.ts";
import { oneloginConnector } from "./onelogin.ts";
import type { DirectoryConnector } from "./types.ts";

/** The connector for a stored directory. */
export function connectorFor(config: DirectoryConfig, http: Omit<HttpOptions, "provider">): DirectoryConnector {
  switch (config.provider) {
    case "okta":
      return oktaConnector(config.settings, config.credentials, http);
    case "entra":
      return entraConnector(config.settings, config.credentials, http);
    case "google":
      return googleConnector(config.settings, config.credentials, http);
    case "onelogin":
      return oneloginConnector(config.settings, config.credentials, http);
    default:
      // A row stored by a newer Rollcall (a provider this version does not know) is stored, not pulled.
      throw new UnsupportedProviderError((config as { provider: string }).provider);
  }
}

/** A provider whose connector this version does not have: its directory can be stored, not pulled. */
export class UnsupportedProviderError extends Error {
  constructor(readonly provider: string) {
    super(`this version of Rollcall has no ${provider} directory connector; its settings are stored but it cannot be pulled`);
    this.name = "UnsupportedProviderError";
  }
}
