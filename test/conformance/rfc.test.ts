import { describeFixture } from "./replay.ts";

describeFixture("rfc-errors-and-paging.json");
