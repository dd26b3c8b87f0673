import { readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

test("a plan is saved as you draw and persists across a reload; an earlier version can be restored", async ({ page }) => {
  const planner = new PlannerPage(page);
  // Unique names: the suite may run again against the same server.
  const name = `Persisted ${Date.now()}`;
  const renamed = `Renamed ${Date.now()}`;
  await planner.createPlan(name);
  await planner.addVpc("10.0.0.0/16");
  await expect(planner.saveStatus).toHaveText("All changes saved (version 2)");
  await planner.addVpc("172.16.0.0/16");
  await expect(planner.saveStatus).toHaveText("All changes saved (version 3)");

  await page.reload();
  await expect(planner.vpcBoxes()).toHaveCount(2);
  await expect(planner.statusBar).toHaveText("2 VPCs");

  await page.getByText("History", { exact: true }).click();
  await expect(page.getByTestId("version")).toHaveCount(3);
  await page.getByRole("button", { name: "Restore version 2" }).click();
  await expect(planner.vpcBoxes()).toHaveCount(1);
  await expect(page.getByTestId("notice")).toContainText("Restored version 2 (saved as version 4)");
  await page.reload();
  await expect(planner.vpcBoxes()).toHaveCount(1);

  // The list shows it; rename, duplicate and delete work from there.
  await page.goto("/");
  const row = page.getByTestId("plan-row").filter({ hasText: name });
  // The version cell itself (the name and the "Changed" time hold digits too): 4 versions, 1 VPC, 0 peerings.
  const headers = await page.getByRole("table", { name: "Plans" }).getByRole("columnheader").allTextContents();
  const cell = (header: string) => {
    expect(headers, `a "${header}" column`).toContain(header);
    return row.getByRole("cell").nth(headers.indexOf(header));
  };
  await expect(cell("Version")).toHaveText("4");
  await expect(cell("VPCs")).toHaveText("1");
  await expect(cell("Peerings")).toHaveText("0");
  await row.getByLabel(`New name for ${name}`).fill(renamed);
  await row.getByRole("button", { name: "Rename" }).click();
  await expect(page.getByRole("link", { name: renamed, exact: true })).toBeVisible();
  await page.getByRole("button", { name: `Duplicate ${renamed}` }).click();
  await expect(page.getByRole("link", { name: `${renamed} (copy)` })).toBeVisible();
  page.on("dialog", (d) => d.accept());
  await page.getByRole("button", { name: `Delete ${renamed} (copy)` }).click();
  await expect(page.getByRole("link", { name: `${renamed} (copy)` })).toHaveCount(0);
  await expect(page.getByRole("link", { name: renamed, exact: true })).toBeVisible();
  await page.screenshot({ path: "test-results/plans.png" });
});

test("AWS describe-* files import into a new plan with the import's findings shown", async ({ page }) => {
  const dir = join(__dirname, "../../netmodel/tests/fixtures/aws/111122223333/us-east-1");
  const files = readdirSync(dir).map((f) => join(dir, f));
  await page.goto("/");
  await page.getByLabel("Import (drop files here)").setInputFiles(files);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page).toHaveURL(/\/plans\/plan_/);
  await expect(page.getByTestId("plan-name")).toContainText("Imported from AWS");
  const planner = new PlannerPage(page);
  await expect(planner.vpcBoxes().first()).toBeVisible();
  expect(await planner.vpcBoxes().count()).toBeGreaterThan(1);
  await expect(planner.canvas.getByTestId("peering").first()).toBeVisible();
  await page.screenshot({ path: "test-results/aws-import.png" });
});

test("without JavaScript the plan list and a read-only diagram render", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/");
  await page.getByLabel("New plan").fill("No-JS plan");
  await page.getByRole("button", { name: "Create plan" }).click();
  await expect(page).toHaveURL(/\/plans\/plan_/);
  await expect(page.getByTestId("plan-name")).toHaveText("No-JS plan");
  await page.goto("/");
  await expect(page.getByRole("link", { name: "No-JS plan" }).first()).toBeVisible();
  // An imported plan's diagram is drawn by the server.
  await page.getByLabel("Import (drop files here)").setInputFiles(join(__dirname, "../../examples/seed.json"));
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page.getByTestId("plan-name")).toHaveText("NFYio seed example: VPC A and VPC B");
  await expect(page.locator('[data-testid="vpc-box"]')).toHaveCount(2);
  await expect(page.locator('[data-testid="peering"][data-id="pcx-ab"]')).toHaveAttribute("data-status", "active");
  await page.screenshot({ path: "test-results/no-js-diagram.png" });
  await context.close();
});

test("a large plan is painted on a canvas where VPCs can still be selected, peered and moved", async ({ page }) => {
  // 800 VPCs in a chain of 799 peerings: 1,599 items, beyond the SVG canvas's 1,500.
  const n = 800;
  const vpcs = Array.from({ length: n }, (_, i) => ({
    id: `vpc-${i}`,
    name: `VPC ${i}`,
    account: "acct-1",
    region: "us-east-1",
    cidr: `10.${Math.floor(i / 256)}.${i % 256}.0/24`,
    position: { x: 40 + (i % 40) * 360, y: 40 + Math.floor(i / 40) * 200 },
  }));
  const peerings = Array.from({ length: n - 1 }, (_, i) => ({
    id: `pcx-${i}`,
    requester: { vpc: `vpc-${i}` },
    accepter: { vpc: `vpc-${i + 1}` },
    status: "active",
  }));
  const plan = { format: "peerplan/v1", name: `Large ${Date.now()}`, accounts: [{ id: "acct-1", name: "" }], vpcs, peerings };
  await page.goto("/");
  await page.getByLabel("Import (drop files here)").setInputFiles({
    name: "large.json",
    mimeType: "application/json",
    buffer: Buffer.from(JSON.stringify(plan)),
  });
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page).toHaveURL(/\/plans\/plan_/);
  const bitmap = page.getByTestId("bitmap-canvas");
  await expect(bitmap).toBeVisible();
  await expect(page.getByTestId("lod-note")).toBeVisible();
  const planner = new PlannerPage(page);

  // Select: vpc-0's box is at (40, 40)–(340, 130) in canvas pixels.
  await bitmap.click({ position: { x: 100, y: 60 } });
  await expect(planner.inspector).toContainText("VPC vpc-0");
  await page.screenshot({ path: "test-results/large-plan-canvas.png" });

  // Peer: drag vpc-0's handle (its right edge, 35 px down) onto vpc-2 (starting at x = 760).
  const box = (await bitmap.boundingBox())!;
  await page.mouse.move(box.x + 340, box.y + 75);
  await page.mouse.down();
  await page.mouse.move(box.x + 800, box.y + 60, { steps: 8 });
  await page.mouse.up();
  await expect(page.getByTestId("notice")).toContainText("Peered vpc-0 and vpc-2");
  await expect(planner.saveStatus).toHaveText("All changes saved (version 2)");

  // Move vpc-0 down by 100 px; the change is saved.
  await page.mouse.move(box.x + 100, box.y + 60);
  await page.mouse.down();
  await page.mouse.move(box.x + 100, box.y + 160, { steps: 5 });
  await page.mouse.up();
  await expect(planner.saveStatus).toHaveText("All changes saved (version 3)");
  await bitmap.click({ position: { x: 100, y: 160 } });
  await expect(planner.inspector).toContainText("VPC vpc-0");
});
