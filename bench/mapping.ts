// Attribute-mapping throughput: user evaluations per second, single thread.
// Run: node --import tsx bench/mapping.ts
import { compileMapping, ENTERPRISE_USER_SCHEMA, evaluateMapping, type CompiledMapping, type ScimUserLike } from "../mapping/index.ts";

const ROUNDS = 7;
const WARMUP_ROUNDS = 2;
const EVALUATIONS_PER_ROUND = 300_000;
const USER_COUNT = 2_000;

/** 8 entries, 3 of them templates: one reads only its value, one slugs it, one reads `user`. */
export const BENCH_MAPPING: Record<string, string> = {
  userName: "email_address",
  "name.givenName": "first_name",
  "name.familyName": "last_name",
  externalId: "external_id",
  "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}.organization_role',
  [`${ENTERPRISE_USER_SCHEMA}.department`]: '{{ value | downcase | replace: " ", "_" }}.public_metadata.department',
  [`${ENTERPRISE_USER_SCHEMA}:employeeNumber`]: "public_metadata.employee_number",
  "name.formatted": "{{ value | default: user.displayName | strip }}.public_metadata.display_name",
};

const GIVEN = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim", "Margaret", "Linus"];
const FAMILY = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Berners-Lee"];
const GROUPS = ["Admins", "Engineering", "Sales", "Support", "Finance", "Design", "Marketing", "Legal", "Ops", "People"];
const DEPARTMENTS = ["Research and Development", "Sales", "Customer Success", "Finance", "Human Resources", "IT", "Legal"];

// A fixed-seed generator keeps runs comparable.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function pick<T>(items: readonly T[], next: () => number): T {
  return items[Math.floor(next() * items.length)] as T;
}

/** Users as IdPs send them: string booleans, optional extension, 0-4 groups, 1-3 emails. */
function makeUsers(count: number, uniqueValues: boolean): ScimUserLike[] {
  const next = random(42);
  return Array.from({ length: count }, (_, i) => {
    const given = pick(GIVEN, next);
    const family = pick(FAMILY, next);
    const login = `${given}.${family}${i}@example.com`.toLowerCase();
    const groupNames = Array.from({ length: Math.floor(next() * 5) }, () => (uniqueValues ? `Team ${i}-${next()}` : pick(GROUPS, next)));
    const user: ScimUserLike = {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
      userName: login,
      externalId: `00u${(i * 7919).toString(36)}`,
      name: { givenName: given, familyName: family, ...(next() < 0.7 ? { formatted: ` ${given} ${family} ` } : {}) },
      displayName: `${given} ${family}`,
      active: next() < 0.5 ? true : "True",
      emails: [
        { value: login, type: "work", primary: next() < 0.5 ? true : "true" },
        ...(next() < 0.4 ? [{ value: `${given}${i}@home.example`.toLowerCase(), type: "home" }] : []),
      ],
      groups: groupNames.map((name) => ({ value: name, display: name })),
    };
    if (next() < 0.8) {
      user[ENTERPRISE_USER_SCHEMA] = {
        department: uniqueValues ? `Department ${i}` : pick(DEPARTMENTS, next),
        employeeNumber: String(10_000 + i),
        manager: { value: `user_${i % 50}` },
      };
    }
    return user;
  });
}

function runRound(mapping: CompiledMapping, users: readonly ScimUserLike[], evaluations: number): { perSecond: number; sink: number } {
  let sink = 0;
  const started = performance.now();
  for (let i = 0; i < evaluations; i++) {
    const result = evaluateMapping(mapping, users[i % users.length] as ScimUserLike);
    sink += result.errors.length + (result.fields.email_address?.length ?? 0);
  }
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: evaluations / seconds, sink };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function measure(label: string, mapping: CompiledMapping, users: readonly ScimUserLike[]): void {
  let sink = 0;
  for (let i = 0; i < WARMUP_ROUNDS; i++) sink += runRound(mapping, users, EVALUATIONS_PER_ROUND).sink;
  const rates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const round = runRound(mapping, users, EVALUATIONS_PER_ROUND);
    rates.push(round.perSecond);
    sink += round.sink;
  }
  const format = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(`${label}: median ${format(median(rates))} evaluations/s (min ${format(Math.min(...rates))}, max ${format(Math.max(...rates))}; ${ROUNDS} rounds of ${format(EVALUATIONS_PER_ROUND)} after ${WARMUP_ROUNDS} warm-up rounds; checksum ${sink})`);
}

/** The same mapping with the role chosen by a `case` tag, which liquidjs's full renderer handles. */
const TAG_MAPPING: Record<string, string> = {
  ...BENCH_MAPPING,
  "groups[0].value": '{% case value %}{% when "Admins" %}org:admin{% when "Finance" %}org:billing{% else %}org:member{% endcase %}.organization_role',
};

const realistic = makeUsers(USER_COUNT, false);
const unique = makeUsers(USER_COUNT, true);
console.log(`node ${process.version}, ${USER_COUNT} users, mapping:`);
console.log(JSON.stringify(BENCH_MAPPING, null, 2));
measure("realistic users", compileMapping(BENCH_MAPPING), realistic);
measure("every group and department name unique", compileMapping(BENCH_MAPPING), unique);
console.log(`variant: ${JSON.stringify({ "groups[0].value": TAG_MAPPING["groups[0].value"] })}`);
measure("case-tag role, realistic users", compileMapping(TAG_MAPPING), realistic);
measure("case-tag role, unique group names", compileMapping(TAG_MAPPING), unique);
