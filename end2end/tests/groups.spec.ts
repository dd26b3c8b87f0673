import { expect, test, type Locator } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

// The peering groups panel (VPCs that can reach each other over active peerings at all) and the auto-layout that
// keeps each group together.

async function centre(box: Locator): Promise<{ x: number; y: number }> {
  const b = await box.locator(".vpc-frame").boundingBox();
  if (!b) throw new Error("VPC box not drawn");
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

function distance(a: { x: number; y: number }, b: { x: number; y: number }): number {
  return Math.hypot(a.x - b.x, a.y - b.y);
}

test("the planner lists the isolated groups, selects one, and a new peering joins two", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  const panel = page.getByRole("complementary", { name: "Peering groups" });
  await planner.loadExample("multi-region", "vpc-prod");

  // prod–shared are actively peered; dr's peering is pending and legacy's failed: three groups.
  await expect(panel.getByTestId("groups-summary")).toHaveText(
    "3 isolated groups: VPCs in different groups cannot reach each other over peering.",
  );
  const groups = panel.getByTestId("group");
  await expect(groups).toHaveCount(3);
  await expect(groups.nth(0)).toHaveText("Group 1 · 1 VPC: vpc-dr");
  await expect(groups.nth(1)).toHaveText("Group 2 · 1 VPC: vpc-legacy");
  await expect(groups.nth(2)).toHaveText("Group 3 · 2 VPCs: vpc-prod, vpc-shared");
  // The check says the same in its note.
  await expect(planner.diagnostics).toContainText("3 isolated groups: {vpc-dr}, {vpc-legacy}, {vpc-prod, vpc-shared}");

  // Clicking a group selects its VPCs on the canvas.
  await groups.nth(2).getByRole("button", { name: "Group 3 · 2 VPCs" }).click();
  await expect(planner.vpcBox("vpc-prod")).toHaveClass(/selected/);
  await expect(planner.vpcBox("vpc-shared")).toHaveClass(/selected/);
  await expect(planner.vpcBox("vpc-dr")).not.toHaveClass(/selected/);

  // Accepting dr's pending peering joins it to prod's group; dr and shared are then joined only through prod.
  await planner.peering("pcx-prod-dr").focus();
  await page.keyboard.press("Enter");
  await planner.inspector.getByLabel("Peering status").selectOption("active");
  await expect(panel.getByTestId("groups-summary")).toHaveText(
    "2 isolated groups: VPCs in different groups cannot reach each other over peering.",
  );
  await expect(groups).toHaveCount(2);
  await expect(groups.nth(0)).toContainText("Group 1 · 3 VPCs: vpc-dr, vpc-prod, vpc-shared");
  await expect(groups.nth(0)).toContainText("1 pair joined only through other VPCs: it cannot talk");
  await expect(groups.nth(1)).toHaveText("Group 2 · 1 VPC: vpc-legacy");
  await page.screenshot({ path: "test-results/groups.png" });
});

test("auto-layout keeps each peering group together", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.loadExample("transitive", "vpc-c");
  // A fourth VPC, peered with nothing.
  await planner.addVpc("10.50.0.0/16");
  await page.getByRole("button", { name: "Auto-layout" }).click();
  await expect(async () => {
    const [a, b, c, lone] = await Promise.all(
      ["vpc-a", "vpc-b", "vpc-c", "vpc-1"].map((id) => centre(planner.vpcBox(id))),
    );
    // The chain a–b–c stays together: each peered pair closer than the lone VPC is to any of them.
    const nearestLone = Math.min(distance(lone, a), distance(lone, b), distance(lone, c));
    expect(distance(a, b)).toBeLessThan(nearestLone);
    expect(distance(b, c)).toBeLessThan(nearestLone);
  }).toPass({ timeout: 10_000 });
});
