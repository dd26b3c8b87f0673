import { expect, type Locator, type Page } from "@playwright/test";

/** The planner page as a person sees it: a CIDR box, an "Add VPC" button, the canvas, the status bar. */
export class PlannerPage {
  readonly page: Page;
  readonly cidr: Locator;
  readonly addVpcButton: Locator;
  readonly canvas: Locator;
  readonly statusBar: Locator;
  readonly diagnostics: Locator;
  readonly typingOverlap: Locator;

  constructor(page: Page) {
    this.page = page;
    this.cidr = page.getByLabel("VPC CIDR block");
    this.addVpcButton = page.getByRole("button", { name: "Add VPC" });
    this.canvas = page.getByRole("region", { name: "Planner canvas" });
    this.statusBar = page.getByRole("status");
    this.diagnostics = page.getByRole("complementary", { name: "Diagnostics" });
    this.typingOverlap = page.getByTestId("typing-overlap");
  }

  async goto() {
    await this.page.goto("/");
    await expect(this.page.getByRole("heading", { name: "Peerplan" })).toBeVisible();
  }

  vpcBoxes(): Locator {
    return this.canvas.getByTestId("vpc-box");
  }

  /** Adds a VPC; the first click is retried until hydration has wired the button. */
  async addVpc(cidr: string) {
    const before = await this.vpcBoxes().count();
    await this.cidr.fill(cidr);
    await expect(async () => {
      if ((await this.vpcBoxes().count()) === before) {
        await this.addVpcButton.click();
      }
      await expect(this.vpcBoxes()).toHaveCount(before + 1, { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
  }
}
