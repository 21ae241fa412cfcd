import { exportPKCS8, exportSPKI, generateKeyPair } from "jose";
import { unique } from "./factories.ts";

/** A Google service account key as the Cloud console downloads it, with the public half for a fake Google. */
export type TestServiceAccount = { json: string; clientEmail: string; keyId: string; publicKeyPem: string };

/** Makes a fresh RSA key pair and the service account JSON key Google would issue for it. */
export async function makeServiceAccount(): Promise<TestServiceAccount> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
  const keyId = unique() + unique() + unique();
  const clientEmail = `rollcall-reader@acme-prod-${unique()}.iam.gserviceaccount.com`;
  const json = JSON.stringify({
    type: "service_account",
    project_id: "acme-prod",
    private_key_id: keyId,
    private_key: await exportPKCS8(privateKey),
    client_email: clientEmail,
    client_id: "103842765108347610000",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: "https://oauth2.googleapis.com/token",
    auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: "googleapis.com",
  });
  return { json, clientEmail, keyId, publicKeyPem: await exportSPKI(publicKey) };
}
