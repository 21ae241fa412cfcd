import { describeFixture } from "./replay.ts";

describeFixture("onelogin.json");
