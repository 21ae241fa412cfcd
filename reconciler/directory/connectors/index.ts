import type { DirectoryConfig } from "../settings.ts";
import type { HttpOptions } from "./http.ts";
import { entraConnector } from "./entra.ts";
import { oktaConnector } from "./okta.ts";
import type { DirectoryConnector } from "./types.ts";

/** The connector for a stored directory; Google and OneLogin are not built yet (README says so). */
export function connectorFor(config: DirectoryConfig, http: Omit<HttpOptions, "provider">): DirectoryConnector {
  switch (config.provider) {
    case "okta":
      return oktaConnector(config.settings, config.credentials, http);
    case "entra":
      return entraConnector(config.settings, config.credentials, http);
    case "google":
    case "onelogin":
      throw new UnsupportedProviderError(config.provider);
  }
}

/** A provider whose connector does not exist yet: its directory can be stored, not pulled. */
export class UnsupportedProviderError extends Error {
  constructor(readonly provider: string) {
    super(`the ${provider} directory connector is not implemented yet; its settings are stored but it cannot be pulled`);
    this.name = "UnsupportedProviderError";
  }
}
