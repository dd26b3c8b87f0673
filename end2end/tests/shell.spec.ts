import { expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

test("the hydrated planner adds a VPC and the status bar counts it", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await expect(planner.statusBar).toHaveText("No VPCs yet");

  await planner.addVpc("10.0.0.0/16");

  await expect(planner.vpcBoxes().first()).toContainText("10.0.0.0/16");
  await expect(planner.statusBar).toHaveText("1 VPC");
});

test("a bad CIDR is refused while typing, naming the value", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16"); // proves hydration before typing
  await planner.cidr.fill("10.0.0.0/33");
  await expect(page.locator("#vpc-cidr-error")).toHaveText('"10.0.0.0/33" is not a CIDR block: prefix length out of range');
  await expect(planner.addVpcButton).toBeDisabled();
});
