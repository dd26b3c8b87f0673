import { expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

test("an overlap is flagged while typing and on the canvas once drawn", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16");
  await expect(planner.diagnostics).toContainText("No findings.");

  // Typing a block inside the first VPC names the overlap before anything is added.
  await planner.cidr.fill("10.0.128.0/17");
  await expect(planner.typingOverlap).toHaveText("overlaps vpc-1 (10.0.0.0/16)");
  // A disjoint block (the seed's "invalid example" is not an overlap) clears it.
  await planner.cidr.fill("10.1.0.0/16");
  await expect(planner.typingOverlap).toHaveText("");

  await planner.addVpc("10.0.128.0/17");
  await expect(planner.diagnostics).toContainText("CIDR_OVERLAP");
  await expect(planner.diagnostics).toContainText("overlap on 10.0.128.0/17");
  await expect(planner.vpcBoxes().nth(0)).toHaveClass(/flagged/);
  await expect(planner.vpcBoxes().nth(1)).toHaveClass(/flagged/);
  await expect(planner.statusBar).toHaveText("2 VPCs · 1 finding");
  await page.screenshot({ path: "test-results/overlap.png" });
});
