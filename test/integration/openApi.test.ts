import { expect } from "chai";
import { compileErrors, validate } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import { shared } from "../helpers/rootHooks.ts";
import { admin, request, scim, type JsonResponse } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";
import { buildApp } from "../../server/app.ts";
import { openApiPath } from "../../server/admin/openApiDocument.ts";

const base = () => shared.service.url!;
type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown> } };

async function fetchDocument(): Promise<Doc> {
  const res = await request(base(), "GET", "/v1/openapi.json");
  expect(res.status, res.text).to.equal(200);
  expect(res.contentType).to.equal("application/json");
  return res.body;
}

/** Every admin route the app really serves: `METHOD /v1/…`, from the koa routers mounted on it. */
function registeredAdminRoutes(): string[] {
  const app = buildApp(shared.service.deps);
  const routes = new Set<string>();
  for (const middleware of app.middleware as Array<{ router?: { stack: Array<{ path: string; methods: string[] }> } }>) {
    for (const layer of middleware.router?.stack ?? []) {
      const path = layer.path.length > 1 ? layer.path.replace(/\/+$/, "") : layer.path;
      if (path !== "/v1" && !path.startsWith("/v1/")) continue;
      for (const method of layer.methods) if (method !== "HEAD") routes.add(`${method} ${openApiPath(path)}`);
    }
  }
  return [...routes].sort();
}

const documentedRoutes = (doc: Doc) =>
  Object.entries(doc.paths)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();

describe("OpenAPI document of the admin API (GET /v1/openapi.json)", () => {
  it("is served without the admin key and is a valid OpenAPI 3.1 document", async () => {
    const doc = await fetchDocument();
    expect(doc.openapi).to.equal("3.1.0");
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? "" : compileErrors(result)).to.equal(true);
    expect(result.specification).to.equal("OpenAPI");
  });

  it("documents every admin route the app registers, and nothing it does not", async () => {
    const registered = registeredAdminRoutes();
    expect(registered.length).to.be.greaterThan(30);
    expect(documentedRoutes(await fetchDocument())).to.deep.equal(registered);
  });

  it("takes request schemas from the zod schemas the handlers parse with", async () => {
    const doc = await fetchDocument();
    const create = doc.paths["/v1/organizations"]!.post;
    const body = create.requestBody.content["application/json"].schema;
    expect(body.required).to.deep.equal(["name"]);
    expect(body.additionalProperties).to.equal(false);
    expect(body.properties.slug.pattern).to.equal("^[a-z0-9][a-z0-9-]{0,62}$");
    const limit = doc.paths["/v1/organizations"]!.get.parameters.find((p: { name: string }) => p.name === "limit");
    expect(limit).to.deep.include({ in: "query", required: false });
    expect(limit.schema).to.deep.include({ type: "integer", minimum: 1, maximum: 200, default: 50 });
    const status = doc.paths["/v1/organizations/{org}/webhook_deliveries"]!.get.parameters.find((p: { name: string }) => p.name === "status");
    expect(status.schema.enum).to.deep.equal(["pending", "succeeded", "failed"]);
    expect(doc.paths["/v1/openapi.json"]!.get.security).to.deep.equal([]);
    // The real endpoint refuses what the document says it refuses.
    const refused = await admin(base(), "POST", "/v1/organizations", { name: "x", color: "red" });
    expect(refused.status).to.equal(400);
  });

  it("marks a request body required only when the server refuses a request without one", async () => {
    const doc = await fetchDocument();
    const requirement = (path: string, method: string) => doc.paths[path]![method].requestBody.required;
    // rotate_secret and reconcile take optional settings: a bodyless POST is what the README shows.
    expect(requirement("/v1/organizations/{org}/webhook_endpoints/{id}/rotate_secret", "post")).to.equal(false);
    expect(requirement("/v1/organizations/{org}/reconcile", "post")).to.equal(false);
    expect(requirement("/v1/organizations", "post")).to.equal(true);
    expect(requirement("/v1/organizations/{org}/webhook_endpoints", "post")).to.equal(true);
    const { orgId } = await createOrgWithToken(base());
    const endpoint = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: "http://127.0.0.1:9/hook" });
    expect(endpoint.status, endpoint.text).to.equal(201);
    const rotated = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints/${endpoint.body.id}/rotate_secret`);
    expect(rotated.status, rotated.text).to.equal(200);
    expect(rotated.body.secret).to.match(/^whsec_/);
    const unnamed = await admin(base(), "POST", "/v1/organizations");
    expect(unnamed.status).to.equal(400);
  });

  it("describes real responses: bodies the server sends validate against the documented schemas", async () => {
    const doc = await fetchDocument();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: "components", $defs: doc.components.schemas });
    const check = (res: JsonResponse, method: string, path: string) => {
      const operation = doc.paths[path]![method]!;
      const answer = operation.responses[String(res.status)] ?? operation.responses.default;
      expect(answer, `${method} ${path} ${res.status} is documented`).not.to.equal(undefined);
      const schema = JSON.parse(JSON.stringify(answer.content["application/json"].schema).replaceAll("#/components/schemas/", "components#/$defs/"));
      const valid = ajv.validate(schema, res.body);
      expect(valid, `${method} ${path} ${res.status}: ${ajv.errorsText()}`).to.equal(true);
    };
    const { orgId, token } = await createOrgWithToken(base());
    check(await admin(base(), "GET", `/v1/organizations/${orgId}`), "get", "/v1/organizations/{org}");
    check(await admin(base(), "GET", "/v1/organizations?limit=2"), "get", "/v1/organizations");
    check(await admin(base(), "POST", `/v1/organizations/${orgId}/scim/tokens`, { name: "t" }), "post", "/v1/organizations/{org}/scim/tokens");
    check(await admin(base(), "GET", `/v1/organizations/${orgId}/scim/tokens`), "get", "/v1/organizations/{org}/scim/tokens");
    check(await admin(base(), "GET", `/v1/organizations/${orgId}/enterprise_connections`), "get", "/v1/organizations/{org}/enterprise_connections");
    const endpoint = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: "https://hooks.example.com/rollcall" });
    check(endpoint, "post", "/v1/organizations/{org}/webhook_endpoints");
    check(await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints`), "get", "/v1/organizations/{org}/webhook_endpoints");
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    await scim(base(), token, "POST", "/Groups", { displayName: `T ${unique()}`, members: [{ value: user.body.id }] });
    check(await admin(base(), "GET", `/v1/organizations/${orgId}/users`), "get", "/v1/organizations/{org}/users");
    const teams = await admin(base(), "GET", `/v1/organizations/${orgId}/teams`);
    check(teams, "get", "/v1/organizations/{org}/teams");
    check(await admin(base(), "GET", `/v1/organizations/${orgId}/teams/${teams.body.data[0].id}/members`), "get", "/v1/organizations/{org}/teams/{id}/members");
    check(await admin(base(), "GET", `/v1/organizations/${orgId}/scim/attribute-mappings`), "get", "/v1/organizations/{org}/scim/attribute-mappings");
    check(await admin(base(), "POST", `/v1/organizations/${orgId}/portal_sessions`, {}), "post", "/v1/organizations/{org}/portal_sessions");
    // Errors: the documented AdminError shape.
    check(await request(base(), "GET", `/v1/organizations/${orgId}`), "get", "/v1/organizations/{org}");
    check(await admin(base(), "GET", "/v1/organizations/org_missing"), "get", "/v1/organizations/{org}");
    check(await admin(base(), "PATCH", `/v1/organizations/${orgId}`, {}), "patch", "/v1/organizations/{org}");
  });
});
