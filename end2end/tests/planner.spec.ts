import { expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

test("draw two VPCs and peer them by dragging from one to the other", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16");
  await planner.addVpc("172.16.0.0/16");
  await planner.drawPeering("vpc-1", "vpc-2");
  const peering = planner.peering("pcx-1");
  await expect(peering).toHaveAttribute("data-status", "active");
  await expect(page.getByTestId("notice")).toContainText("Peered vpc-1 and vpc-2 with pcx-1");
  // Routes were added on both sides: the inspector of VPC 2 lists the route back.
  await planner.selectVpc("vpc-2");
  await expect(planner.inspector.getByTestId("route-table")).toContainText("10.0.0.0/16pcx-1");
  await expect(planner.diagnostics).toContainText("No findings.");
  // Drawing the same peering again is refused with the reason.
  await planner.drawPeering("vpc-2", "vpc-1");
  await expect(page.getByTestId("notice")).toContainText("already peered by pcx-1");
  await page.screenshot({ path: "test-results/peered.png" });
});

test("a transitive trace stops at the A–B peering with NOT_TRANSITIVE", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.loadExample("transitive", "vpc-c");
  await planner.runTrace("bucket-a", "service-c");
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("NOT_TRANSITIVE");
  await expect(planner.trace.getByTestId("trace-verdict-line")).toHaveText("DROPPED NOT_TRANSITIVE");
  await expect(planner.trace.getByTestId("trace-verdict")).toContainText("not transitive");
  const drop = planner.trace.locator('[data-testid="hop"][data-result="drop"]');
  await expect(drop).toHaveAttribute("data-stage", "Peering");
  await expect(drop).toContainText("pcx-ab");
  await expect(planner.canvas.getByTestId("packet-path")).toHaveAttribute("data-dropped", "true");
  await expect(planner.canvas.getByTestId("drop-marker")).toBeVisible();
  // The transitive route is also a finding, with a one-click fix that creates the direct peering.
  await expect(planner.diagnostics).toContainText("TRANSITIVE_ASSUMPTION");
  await page.waitForTimeout(1_500); // let the packet reach the peering for the screenshot
  await page.screenshot({ path: "test-results/trace-transitive.png" });
  await planner.diagnostics.getByRole("button", { name: "Apply fix" }).first().click();
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("ACCEPTED");
  // The code is the disposition here: said once, not "ACCEPTED ACCEPTED".
  await expect(planner.trace.getByTestId("trace-verdict")).not.toContainText("ACCEPTED ACCEPTED");
  await expect(planner.trace.getByTestId("trace-verdict-line")).toHaveText("ACCEPTED");
});

test("a security-group change flips a trace, and undo restores it", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.loadExample("seed", "vpc-b");
  await planner.runTrace("bucket-a", "agent-b", "7010");
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("ACCEPTED");
  await expect(planner.trace.getByTestId("hops-return")).toBeVisible();

  await planner.selectVpc("vpc-b");
  await planner.inspector.getByRole("button", { name: "Remove rule tcp 7010 10.0.0.0/16" }).click();
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("SG_DENY_INGRESS");
  await page.screenshot({ path: "test-results/trace-sg-blocked.png" });

  await page.keyboard.press("Control+z");
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("ACCEPTED");
  await page.keyboard.press("Control+Shift+z");
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("SG_DENY_INGRESS");
  await page.getByRole("button", { name: "Undo" }).click();
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("ACCEPTED");
});

test("the help overlay lists the shortcuts and the theme switches", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16");
  await page.keyboard.press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(help).toContainText("Ctrl+Shift+Z");
  await page.keyboard.press("Escape");
  await expect(help).toHaveCount(0);
  await page.getByRole("button", { name: "Switch between light and dark theme" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await page.screenshot({ path: "test-results/dark.png" });
  // A preference: kept in the browser, applied on every page (the plan list too), until switched back.
  await page.goto("/");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await planner.goto();
  await expect(page.getByRole("button", { name: "Switch between light and dark theme" })).toHaveAttribute("aria-pressed", "true");
  await page.getByRole("button", { name: "Switch between light and dark theme" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
});

test("a matrix cell opens its trace, and what-if shows the pairs a change would cut", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.loadExample("transitive", "vpc-c");
  const matrix = page.getByRole("region", { name: "Reachability matrix" });
  await matrix.getByText("Reachability matrix").click();
  const canvas = matrix.getByTestId("matrix-canvas");
  await expect(matrix.getByTestId("matrix-legend")).toContainText("NOT_TRANSITIVE");
  // Rows and columns: bucket-a (vpc-a), agent-b (vpc-b), service-c (vpc-c); 360 px / 3 = 120 px a cell.
  await canvas.hover({ position: { x: 300, y: 60 } });
  await expect(matrix.getByTestId("matrix-hover")).toHaveText("Bucket A (bucket-a) → Service C (service-c): NOT_TRANSITIVE");
  await page.screenshot({ path: "test-results/matrix.png" });
  await canvas.click({ position: { x: 300, y: 60 } });
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("NOT_TRANSITIVE");
  await expect(planner.trace.getByLabel("Destination endpoint or address")).toHaveValue("service-c");

  await matrix.getByLabel("What-if peering").selectOption("pcx-ab");
  await matrix.getByLabel("What-if status").selectOption("deleted");
  await expect(matrix.getByTestId("what-if-summary")).toContainText("0 pair(s) gain reachability, 2 lose it");
  await expect(matrix.getByTestId("what-if-changes")).toContainText("Bucket A (bucket-a) → Agent B (agent-b): ACCEPTED → PEERING_NOT_ACTIVE");
});

test("draw the seed from scratch, see it work, break the reply and fix it in one click", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16");
  await planner.addVpc("172.16.0.0/16");
  for (const [vpc, name, kind, port] of [
    ["vpc-1", "Bucket A", "bucket", "443"],
    ["vpc-2", "Agent B", "agent", "7010"],
  ]) {
    await planner.selectVpc(vpc);
    await planner.inspector.getByRole("button", { name: "Add subnet" }).click();
    await planner.inspector.getByLabel("Endpoint name").fill(name);
    await planner.inspector.getByLabel("Endpoint kind").selectOption(kind);
    await planner.inspector.getByLabel("Endpoint port").fill(port);
    await planner.inspector.getByRole("button", { name: "Add endpoint" }).click();
  }
  await expect(planner.canvas.getByTestId("endpoint")).toHaveCount(2);
  await planner.drawPeering("vpc-1", "vpc-2");
  await expect(planner.peering("pcx-1")).toHaveAttribute("data-status", "active");

  // The default security group lets in only its own members: the request is stopped at Agent B's group.
  await planner.runTrace("ep-1", "ep-2", "7010");
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("SG_DENY_INGRESS");
  await planner.selectVpc("vpc-2");
  await planner.inspector.getByLabel(/Ports of a new rule/).fill("7010");
  await planner.inspector.getByLabel(/Source of a new rule/).fill("10.0.0.0/16");
  await planner.inspector.getByRole("button", { name: "Add rule" }).click();
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("ACCEPTED");
  await expect(planner.diagnostics).toContainText("No findings.");
  await page.screenshot({ path: "test-results/seed-drawn.png" });

  // Break the reply: Agent B's VPC loses its route back. The request arrives, the reply cannot return.
  await planner.inspector.getByRole("button", { name: "Remove the route to 10.0.0.0/16" }).click();
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("RETURN_NO_ROUTE");
  await expect(planner.trace.getByTestId("hops-return")).toBeVisible();
  await expect(planner.diagnostics).toContainText("MISSING_RETURN_ROUTE");
  await page.screenshot({ path: "test-results/reply-blocked.png" });
  await planner.diagnostics
    .locator("li", { hasText: "MISSING_RETURN_ROUTE" })
    .getByRole("button", { name: "Apply fix" })
    .click();
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("ACCEPTED");

  // Break it by overlap: the overlap is named on both boxes.
  await planner.addVpc("10.0.128.0/17");
  await expect(planner.vpcBox("vpc-1").getByTestId("overlap-note")).toHaveText("overlaps vpc-3 (10.0.128.0/17)");
  await expect(planner.vpcBox("vpc-3").getByTestId("overlap-note")).toHaveText("overlaps vpc-1 (10.0.0.0/16)");
});

test("VPCs and peerings are selectable from the keyboard", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.loadExample("seed", "vpc-b");
  await planner.vpcBox("vpc-a").locator(".vpc-frame").focus();
  await page.keyboard.press("Enter");
  await expect(planner.inspector).toContainText("VPC vpc-a");
  await planner.peering("pcx-ab").focus();
  await page.keyboard.press("Enter");
  await expect(planner.inspector).toContainText("Peering pcx-ab");
  await expect(planner.inspector.getByLabel("Peering status")).toHaveValue("active");
});
