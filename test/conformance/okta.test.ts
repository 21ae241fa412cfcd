import { describeFixture } from "./replay.ts";

describeFixture("okta-spec-test.json");
describeFixture("okta-oin-user-lifecycle.json");
describeFixture("okta-oin-groups.json");
