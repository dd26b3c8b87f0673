import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

// The seed example applied from the planner to the embedded control plane (its demo accounts hold the seed's
// VPC A and VPC B). The tests share that control plane, so they run in order: the cross-account flow first
// (without the accepter's key, then with it), then a stale plan refused.
test.describe.configure({ mode: "serial" });

let planUrl = "";

/** Opens the Apply view of the stored plan and waits for the targets (the view is interactive once listed). */
async function openApply(page: Page) {
  await page.goto(`${planUrl}/apply`);
  await expect(page.getByRole("combobox", { name: "Target" })).toContainText("Embedded control plane");
  await expect(page.getByLabel(/^acct-a/)).toBeChecked();
}

/** Clicks Plan (retried until hydration has wired the button) and waits for the plan's summary. */
async function makePlan(page: Page) {
  await expect(async () => {
    await page.getByRole("button", { name: "Plan", exact: true }).click({ timeout: 1_000 });
    await expect(page.getByTestId("plan-summary")).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
}

test("cross-account: without the accepter's key the run awaits acceptance; with it the peering turns active and both route tables fill", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Import (drop files here)").setInputFiles(join(__dirname, "../../examples/seed.json"));
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page.getByTestId("plan-name")).toHaveText("NFYio seed example: VPC A and VPC B");
  planUrl = new URL(page.url()).pathname;
  await page.getByRole("link", { name: "Apply…" }).click();
  await expect(page).toHaveURL(/\/apply$/);
  await openApply(page);

  // The keys stay on the server: the page shows a hint only.
  await expect(page.getByLabel(/^acct-b/)).toBeChecked();
  const keys = await page.locator(".acting").innerText();
  expect(keys).toMatch(/key ppk_…|key ••••|key \S+…\S+/);

  // Account B does not act: its part is handed off.
  await page.getByLabel(/^acct-b/).uncheck();
  await makePlan(page);
  const changes = page.getByTestId("change");
  await expect(changes.filter({ hasText: "peering pcx-ab" }).first()).toContainText("+");
  await expect(page.getByTestId("plan-summary")).toContainText("to add");
  await page.getByRole("button", { name: "Apply", exact: true }).click();
  const outcome = page.getByTestId("outcome");
  await expect(outcome).toHaveAttribute("data-outcome", "awaiting", { timeout: 60_000 });
  await expect(outcome).toContainText("awaiting acceptance by account acct-b of peering pcx-ab");
  await expect(outcome).toContainText("expires on");
  await expect(page.locator('[data-testid="step"][data-kind="peering"]')).toHaveAttribute("data-status", "done");
  await expect(page.locator('[data-testid="step"][data-kind="peering_accept"]')).toHaveAttribute("data-status", "handed off");
  const handoff = page.getByTestId("handoff");
  await expect(handoff).toContainText("Hand-off for account acct-b");
  const script = await page.request.get((await handoff.getByRole("link", { name: "curl script" }).getAttribute("href"))!);
  expect(await script.text()).toMatch(/\/v1\/vpc-peering\/pcx_[0-9a-z]+\/accept/);
  const md = await page.request.get((await handoff.getByRole("link", { name: "Markdown page" }).getAttribute("href"))!);
  expect(await md.text()).toContain("# Hand-off for account acct-b");
  await expect(page.getByTestId("live-peering")).toHaveAttribute("data-status", "pending");

  // With account B's key too: accept, wait until active, then the routes on both sides.
  await page.getByLabel(/^acct-b/).check();
  await makePlan(page);
  await expect(changes.filter({ hasText: "accept pcx-ab as acct-b" })).toHaveCount(1);
  const total = await changes.count();
  await page.getByRole("button", { name: "Apply", exact: true }).click();
  await expect(outcome).toHaveAttribute("data-outcome", "applied", { timeout: 60_000 });
  await expect(page.getByTestId("progress")).toHaveText(`${total} of ${total} steps done`);
  await expect(page.locator('[data-testid="step"][data-status="done"]')).toHaveCount(total);
  await expect(page.getByTestId("live-peering")).toHaveAttribute("data-status", "active");
  for (const vpc of ["vpc-a", "vpc-b"]) {
    await expect(page.locator(`[data-testid="live-route-table"][data-vpc="${vpc}"]`).filter({ hasText: "pcx_" })).toHaveCount(1);
  }
  await page.screenshot({ path: "test-results/apply-done.png", fullPage: true });

  // Nothing left to do, and no drift.
  await makePlan(page);
  await expect(page.getByTestId("plan-summary")).toHaveText("Plan: 0 to add, 0 to change, 0 to destroy.");
  await page.getByRole("link", { name: "Drift", exact: true }).click();
  await expect(async () => {
    await page.getByRole("button", { name: "Check for drift" }).click({ timeout: 1_000 });
    await expect(page.getByTestId("drift-summary")).toContainText("No drift", { timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
});

test("a plan is refused as stale when the live objects it touches changed since it was shown", async ({ page, context }) => {
  expect(planUrl, "the first test imported the plan").not.toBe("");
  // The plan gains a VPC: something to do.
  await page.goto(planUrl);
  const planner = new PlannerPage(page);
  await planner.addVpc("10.77.0.0/16");
  await expect(planner.saveStatus).toContainText("All changes saved");

  await openApply(page);
  await makePlan(page);
  await expect(page.getByTestId("change").filter({ hasText: "10.77.0.0/16" }).first()).toBeVisible();

  // Meanwhile someone else applies the same version from another tab.
  const other = await context.newPage();
  await openApply(other);
  await makePlan(other);
  await other.getByRole("button", { name: "Apply", exact: true }).click();
  await expect(other.getByTestId("outcome")).toHaveAttribute("data-outcome", "applied", { timeout: 60_000 });

  // The first tab's plan no longer matches the control plane: refused, nothing run.
  await page.getByRole("button", { name: "Apply", exact: true }).click();
  await expect(page.getByTestId("apply-error")).toContainText("refused as stale");
  await expect(page.getByTestId("step")).toHaveCount(0);
  await makePlan(page);
  await expect(page.getByTestId("plan-summary")).toHaveText("Plan: 0 to add, 0 to change, 0 to destroy.");
});
