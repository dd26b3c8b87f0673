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
    this.statusBar = page.getByRole("status", { name: "Plan summary" });
    this.diagnostics = page.getByRole("complementary", { name: "Diagnostics" });
    this.typingOverlap = page.getByTestId("typing-overlap");
  }

  /** The scratch pad: the planner on an unsaved plan. */
  async goto() {
    await this.page.goto("/scratch");
    await expect(this.page.getByRole("heading", { name: "Peerplan" })).toBeVisible();
  }

  vpcBox(id: string): Locator {
    return this.canvas.locator(`[data-testid="vpc-box"][data-id="${id}"]`);
  }

  peering(id: string): Locator {
    return this.canvas.locator(`[data-testid="peering"][data-id="${id}"]`);
  }

  get trace(): Locator {
    return this.page.getByRole("region", { name: "Trace" });
  }

  get inspector(): Locator {
    return this.page.getByRole("region", { name: "Inspector" });
  }

  /** Loads one of the toolbar's examples (retried until hydration has wired the select). */
  async loadExample(key: string, firstVpc: string) {
    await expect(async () => {
      await this.page.getByLabel("Load an example").selectOption(key);
      await expect(this.vpcBox(firstVpc)).toHaveCount(1, { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
  }

  /** Selects a VPC by pressing on its header. */
  async selectVpc(id: string) {
    await this.vpcBox(id).locator(".vpc-frame").click({ position: { x: 40, y: 12 } });
  }

  /** Drags from a VPC's peering handle onto another VPC. */
  async drawPeering(from: string, to: string) {
    const handle = await this.vpcBox(from).getByTestId("peer-handle").boundingBox();
    const target = await this.vpcBox(to).locator(".vpc-frame").boundingBox();
    if (!handle || !target) throw new Error("VPC boxes not drawn");
    await this.page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await this.page.mouse.down();
    await this.page.mouse.move(target.x + target.width / 2, target.y + 20, { steps: 8 });
    await this.page.mouse.up();
  }

  /** Traces from a source endpoint to a destination, with an optional port. */
  async runTrace(from: string, to: string, port = "") {
    await this.trace.getByLabel("Source endpoint").selectOption(from);
    await this.trace.getByLabel("Destination endpoint or address").fill(to);
    await this.trace.getByLabel("Destination port").fill(port);
    await this.trace.getByRole("button", { name: "Trace" }).click();
  }

  /** Creates a stored plan from the plan list and opens it. */
  async createPlan(name: string) {
    await this.page.goto("/");
    await this.page.getByLabel("New plan").fill(name);
    await this.page.getByRole("button", { name: "Create plan" }).click();
    await expect(this.page).toHaveURL(/\/plans\/plan_/);
    await expect(this.page.getByTestId("plan-name")).toHaveText(name);
  }

  get saveStatus(): Locator {
    return this.page.getByTestId("save-status");
  }

  vpcBoxes(): Locator {
    return this.canvas.getByTestId("vpc-box");
  }

  /** Adds a VPC; filling and the click are retried until hydration has wired the button (a click before it does
   * nothing; a block typed before it is kept by the page). The new box must show the typed block. */
  async addVpc(cidr: string) {
    const before = await this.vpcBoxes().count();
    await expect(async () => {
      if ((await this.vpcBoxes().count()) === before) {
        await this.cidr.fill(cidr);
        await this.addVpcButton.click({ timeout: 1_000 });
      }
      await expect(this.vpcBoxes()).toHaveCount(before + 1, { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    await expect(this.vpcBoxes().locator("text.cidr").filter({ hasText: cidr })).not.toHaveCount(0);
  }
}
