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

test("a block typed before the page hydrates is the one added", async ({ page }) => {
  // Hold the page's code until the block is typed into the server-rendered box.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  const planner = new PlannerPage(page);
  await page.goto("/scratch", { waitUntil: "domcontentloaded" });
  await expect(planner.cidr).toHaveValue("10.0.0.0/16"); // the default, before any code has run
  await planner.cidr.fill("10.77.0.0/16");
  release();

  // Once hydrated, Add VPC adds the typed block, not the default one.
  await expect(async () => {
    await planner.addVpcButton.click({ timeout: 1_000 });
    await expect(planner.vpcBoxes()).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(planner.vpcBoxes().first()).toContainText("10.77.0.0/16");
});

test("a bad CIDR is refused while typing, naming the value", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16"); // proves hydration before typing
  await planner.cidr.fill("10.0.0.0/33");
  await expect(page.locator("#vpc-cidr-error")).toHaveText('"10.0.0.0/33" is not a CIDR block: prefix length out of range');
  await expect(planner.addVpcButton).toBeDisabled();
});

test("pages load without a failed request or a console error: the favicon is shipped", async ({ page }) => {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  // Browsers ask every page for /favicon.ico, linked or not.
  const icon = await page.request.get("/favicon.ico");
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toBe("image/x-icon");
  expect([...(await icon.body()).subarray(0, 4)]).toEqual([0, 0, 1, 0]);

  await page.goto("/");
  await expect(page.getByRole("button", { name: "Create plan" })).toBeVisible();
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16"); // hydrated: the planner's lazy code has loaded too
  await page.waitForLoadState("networkidle");
  expect(problems).toEqual([]);
});
