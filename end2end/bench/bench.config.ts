import { defineConfig } from "@playwright/test";
import base from "../playwright.config";

// The UI benchmark (scripts/bench-ui.sh): not part of the test command; one long run against a server the
// script starts.
export default defineConfig({
  ...base,
  testDir: ".",
  testMatch: /.*\.bench\.ts/,
  timeout: 600_000,
  expect: { timeout: 120_000 },
});
