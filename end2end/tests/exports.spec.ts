import { readFile } from "node:fs/promises";
import { expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

// Each export of the drawn plan downloads from the menu, named by format, holding what was drawn.
const formats: Array<[string, string, (body: Buffer) => void]> = [
  ["md", "peerplan.md", (b) => expect(b.toString()).toContain("| vpc-1 |")],
  ["html", "peerplan.html", (b) => expect(b.toString()).toContain("<svg")],
  ["svg", "peerplan.svg", (b) => expect(b.toString()).toContain("10.0.0.0/16")],
  ["png", "peerplan.png", (b) => expect(b.subarray(1, 4).toString()).toBe("PNG")],
  ["dot", "peerplan.dot", (b) => expect(b.toString()).toContain("graph")],
  ["mermaid", "peerplan.mmd", (b) => expect(b.toString()).toContain("flowchart")],
  ["curl", "peerplan.sh", (b) => expect(b.toString()).toMatch(/^#!\/usr\/bin\/env bash/)],
  ["json", "peerplan.json", (b) => expect(JSON.parse(b.toString()).vpcs).toHaveLength(2)],
  ["csv", "peerplan.csv", (b) => expect(b.toString().length).toBeGreaterThan(0)],
];

test("every export downloads from the export menu", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.addVpc("10.0.0.0/16");
  await planner.addVpc("172.16.0.0/16");
  await page.getByText("Export", { exact: true }).click();
  const menu = page.getByRole("form", { name: "Export the plan" });
  await expect(menu).toBeVisible();
  await page.screenshot({ path: "test-results/export-menu.png" });
  for (const [format, name, check] of formats) {
    const download = page.waitForEvent("download");
    await menu.locator(`button[data-format="${format}"]`).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(name);
    check(await readFile(await file.path()));
  }
});
