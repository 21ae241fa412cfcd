/** A stored mapping: SCIM source path → destination, or "<Liquid template>.<destination>". */
export type MappingDocument = Record<string, string>;

/**
 * One thing an org admin has to fix. `key` is the offending source path as written in the
 * document, or "" when the problem concerns the document as a whole (not an object, too big).
 */
export type MappingProblem = { key: string; message: string };

export class MappingValidationError extends Error {
  readonly problems: MappingProblem[];

  constructor(problems: MappingProblem[]) {
    const summary = problems.map((p) => (p.key === "" ? p.message : `${p.key}: ${p.message}`)).join("; ");
    super(`invalid attribute mapping: ${summary}`);
    this.name = "MappingValidationError";
    this.problems = problems;
  }
}

/** The SCIM user JSON as the server stores it (groups already normalized by the caller). */
export type ScimUserLike = Record<string, unknown>;

export type MappedFields = {
  email_address: string | null;
  first_name: string | null;
  last_name: string | null;
  external_id: string | null;
  active: boolean;
  organization_role: string;
  public_metadata: Record<string, unknown>;
  private_metadata: Record<string, unknown>;
};

export type MappingEntryError = { key: string; destination: string; message: string };

export type MappingResult = { fields: MappedFields; errors: MappingEntryError[] };

/** Every mapped field that is not a metadata bucket. */
export type ScalarField = Exclude<keyof MappedFields, MetadataBucket>;

export type MetadataBucket = "public_metadata" | "private_metadata";

/** `name` is the canonical spelling used in errors and for detecting clashes. */
export type Destination =
  | { readonly kind: "field"; readonly field: ScalarField; readonly name: string }
  | { readonly kind: "metadata"; readonly bucket: MetadataBucket; readonly path: readonly string[]; readonly name: string };

/** Reads a source path out of a user; `undefined` means the attribute is absent. */
export type SourceReader = (user: ScimUserLike) => unknown;

/** Milliseconds an evaluation may still spend in liquidjs's renderer; asked only when it is needed. */
export type RenderBudget = { remainingMs(): number };

export type CompiledTemplate = {
  readonly source: string;
  /** Renders synchronously within the budget; throws on any failure (limits, bad output). */
  readonly render: (value: unknown, user: ScimUserLike, budget: RenderBudget) => string;
};

export type CompiledEntry = {
  readonly key: string;
  readonly origin: "organization" | "default";
  readonly destination: Destination;
  readonly read: SourceReader;
  readonly template: CompiledTemplate | null;
};

/** The candidates for one destination, in precedence order; the first usable value wins. */
export type DestinationPlan = { readonly destination: Destination; readonly candidates: readonly CompiledEntry[] };

export type CompiledMapping = {
  readonly entries: readonly CompiledEntry[];
  readonly plan: readonly DestinationPlan[];
  readonly document: MappingDocument;
};
