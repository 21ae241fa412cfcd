import { expect } from "chai";
import { decodeKey, KeyRing, keyIdOf, SecretDecryptionError } from "../../server/crypto/secretBox.ts";

const keyA = Buffer.alloc(32, 1);
const keyB = Buffer.alloc(32, 2);

describe("secret box (AES-256-GCM secrets at rest)", () => {
  it("seals into the versioned format naming the key id, and opens back to the plaintext", () => {
    const ring = new KeyRing(keyA);
    const sealed = ring.seal("ssws-00abc", "org_1");
    expect(sealed.startsWith(`rcenc:v1:${keyIdOf(keyA)}:`)).to.equal(true);
    expect(sealed).not.to.contain("ssws-00abc");
    expect(ring.open(sealed, "org_1")).to.equal("ssws-00abc");
  });

  it("uses a fresh nonce for every value, so equal secrets do not look equal at rest", () => {
    const ring = new KeyRing(keyA);
    expect(ring.seal("same", "org_1")).not.to.equal(ring.seal("same", "org_1"));
  });

  it("refuses a value sealed for another organization", () => {
    const ring = new KeyRing(keyA);
    expect(() => ring.open(ring.seal("s", "org_1"), "org_2")).to.throw(SecretDecryptionError, /another organization/);
  });

  it("refuses a tampered ciphertext", () => {
    const ring = new KeyRing(keyA);
    const parts = ring.seal("secret value", "org_1").split(":");
    const body = Buffer.from(parts[4]!, "base64url");
    body[0] = body[0]! ^ 1;
    parts[4] = body.toString("base64url");
    expect(() => ring.open(parts.join(":"), "org_1")).to.throw(SecretDecryptionError);
  });

  it("opens values of a previous key after a rotation and names a key it does not have", () => {
    const old = new KeyRing(keyA).seal("s", "org_1");
    expect(new KeyRing(keyB, [keyA]).open(old, "org_1")).to.equal("s");
    expect(() => new KeyRing(keyB).open(old, "org_1")).to.throw(SecretDecryptionError, new RegExp(keyIdOf(keyA)));
  });

  it("passes a legacy plaintext through unchanged", () => {
    expect(new KeyRing(keyA).open("whsec_legacy", "org_1")).to.equal("whsec_legacy");
  });

  it("decodes standard and url-safe base64 keys of 32 bytes only", () => {
    expect(decodeKey(keyA.toString("base64")).equals(keyA)).to.equal(true);
    expect(decodeKey(Buffer.alloc(32, 255).toString("base64url")).equals(Buffer.alloc(32, 255))).to.equal(true);
    expect(() => decodeKey(Buffer.alloc(31).toString("base64"))).to.throw(/exactly 32 bytes/);
  });
});
