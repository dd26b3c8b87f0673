import { expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

// No lost edits: two people (two browser contexts) open the same plan and both edit it. The first save wins; the
// second is refused with a banner naming who saved which version, Compare shows the two versions side by side,
// Reload loads the other's version. Each sees the other in "Also here".
test("a conflicting save shows the banner; Compare shows the diff; Reload loads the other's version", async ({ browser }) => {
  const first = await browser.newContext();
  const second = await browser.newContext();
  const alice = new PlannerPage(await first.newPage());
  const bob = new PlannerPage(await second.newPage());

  const name = `Shared ${Date.now()}`;
  await alice.createPlan(name);
  const url = alice.page.url();
  await alice.addVpc("10.0.0.0/16");
  await expect(alice.saveStatus).toHaveText("All changes saved (version 2)");

  await bob.page.goto(url);
  await expect(bob.vpcBoxes()).toHaveCount(1);
  // Presence: each tab sees the other (single-user mode: both are `local`).
  await expect(bob.page.getByTestId("presence")).toHaveText("Also here: local", { timeout: 30_000 });
  await expect(alice.page.getByTestId("presence")).toHaveText("Also here: local", { timeout: 30_000 });

  // Alice saves version 3 first; bob, still on version 2, then adds another VPC: his save is refused.
  await alice.addVpc("10.1.0.0/16");
  await expect(alice.saveStatus).toHaveText("All changes saved (version 3)");
  await bob.addVpc("172.16.0.0/16");
  const banner = bob.page.getByTestId("conflict-banner");
  await expect(banner).toBeVisible();
  await expect(banner).toContainText(/local saved version 3 at \d{4}-\d\d-\d\d \d\d:\d\d UTC while you were editing/);
  await expect(bob.saveStatus).toHaveText("Not saved: someone else saved this plan");

  // Autosave stays off: another edit saves nothing (alice's version 3 is still the current one).
  await bob.addVpc("172.17.0.0/16");
  await bob.page.waitForTimeout(1_500);
  await expect(banner).toBeVisible();
  await expect(bob.saveStatus).toHaveText("Not saved: someone else saved this plan");

  // Compare, by id: both drew a second VPC, vpc-2 (hers 10.1.0.0/16, his 172.16.0.0/16); his third, vpc-3, comes
  // with its main route table, default ACL and default security group: 4 added, 1 changed.
  await banner.getByRole("button", { name: "Compare" }).click();
  const compare = bob.page.getByRole("region", { name: "Compare versions" });
  await expect(compare).toBeVisible();
  await expect(compare.getByTestId("compare-summary")).toHaveText("Yours: 4 added, 1 changed");
  await expect(compare.getByRole("columnheader", { name: /^Version 3 \(local, / })).toBeVisible();
  const row = (object: string) =>
    compare.getByTestId("compare-row").filter({ has: bob.page.getByRole("rowheader", { name: object, exact: true }) });
  await expect(row("VPC vpc-2 · cidr").getByRole("cell")).toHaveText(["10.1.0.0/16", "172.16.0.0/16"]);
  await expect(row("VPC vpc-3").getByRole("cell")).toHaveText(["—", /^added: .*cidr 172\.17\.0\.0\/16/]);
  await expect(compare.getByTestId("compare-row").filter({ hasText: "added: " })).toHaveCount(4);
  await bob.page.screenshot({ path: "test-results/conflict-compare.png" });

  // Reload: bob's edits are discarded, alice's version 3 is loaded, autosave resumes.
  await banner.getByRole("button", { name: "Reload" }).click();
  await expect(banner).toHaveCount(0);
  await expect(compare).toHaveCount(0);
  await expect(bob.vpcBoxes()).toHaveCount(2);
  await expect(bob.saveStatus).toHaveText("All changes saved (version 3)");
  await expect(bob.page.getByTestId("notice")).toContainText("Reloaded version 3");
  await bob.addVpc("192.168.0.0/16");
  await expect(bob.saveStatus).toHaveText("All changes saved (version 4)");

  // Keep mine: alice (still on version 3) edits; her save is refused; she keeps hers on top of bob's version 4.
  await alice.addVpc("10.2.0.0/16");
  const aliceBanner = alice.page.getByTestId("conflict-banner");
  await expect(aliceBanner).toContainText("saved version 4");
  await aliceBanner.getByRole("button", { name: "Keep mine" }).click();
  await expect(aliceBanner).toHaveCount(0);
  await expect(alice.saveStatus).toHaveText("All changes saved (version 5)");
  await alice.page.reload();
  await expect(alice.vpcBoxes()).toHaveCount(3);

  await first.close();
  await second.close();
});
