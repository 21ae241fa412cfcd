import { describeFixture } from "./replay.ts";

describeFixture("entra-users.json");
describeFixture("entra-groups.json");
