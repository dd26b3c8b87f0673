import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type Page, expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

// Team mode: this spec starts its own `peerplan serve --auth` on another 127.0.0.1 port with a throwaway data
// folder, after creating its users with `peerplan user create` (scripts/e2e.sh exports the binary as PEERPLAN_BIN).

const bin = process.env.PEERPLAN_BIN;
const siteRoot = join(__dirname, "../../target/site");
let server: ChildProcess | undefined;
let base = "";
let data = "";
const passwords: Record<string, string> = {};

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  if (!bin) throw new Error("PEERPLAN_BIN is not set: run the end-to-end tests through scripts/e2e.sh");
  data = mkdtempSync(join(tmpdir(), "peerplan-team-"));
  for (const [name, role] of [["ada", "admin"], ["val", "viewer"], ["pia", "planner"]]) {
    const out = execFileSync(bin, ["user", "create", name, "--role", role, "--data", data, "--format", "json"]);
    passwords[name] = JSON.parse(out.toString()).password;
  }
  const env = { ...process.env };
  delete env.LEPTOS_SITE_ADDR;
  const child = spawn(
    bin,
    ["serve", "--auth", "--no-demo", "--addr", "127.0.0.1:0", "--data", data, "--site-root", siteRoot],
    { env, stdio: ["ignore", "pipe", "inherit"] },
  );
  server = child;
  base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the team server did not start within 60 s")), 60_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(chunk.toString());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`the team server exited (${code})`)));
  });
});

test.afterAll(async () => {
  server?.kill("SIGINT");
  if (data) rmSync(data, { recursive: true, force: true });
});

/** A new browser context on the team server, signed in as `name`. */
async function signedIn(browser: Browser, name: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?next=%2F$/);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(passwords[name]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("user-badge")).toContainText(name);
  return page;
}

let planUrl = "";

test("a planner creates and edits a plan", async ({ browser }) => {
  const page = await signedIn(browser, "pia");
  const planner = new PlannerPage(page);
  await planner.createPlan("Team plan");
  planUrl = new URL(page.url()).pathname;
  await planner.addVpc("10.0.0.0/16");
  await expect(planner.saveStatus).toHaveText("All changes saved (version 2)");
  // Not an admin: no audit link; not an applier: no Apply.
  await expect(page.getByRole("link", { name: "Audit" })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Apply…" })).toBeHidden();
});

test("a viewer sees no edit controls and cannot save", async ({ browser }) => {
  const page = await signedIn(browser, "val");
  await expect(page.getByRole("link", { name: "Team plan" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Create plan" })).toBeHidden();
  await expect(page.getByRole("button", { name: "Delete Team plan" })).toBeHidden();
  await page.goto(planUrl);
  const planner = new PlannerPage(page);
  await expect(planner.vpcBoxes()).toHaveCount(1);
  await expect(planner.addVpcButton).toBeHidden();
  // The server refuses a save all the same.
  const status = await page.evaluate(async () => {
    const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
    const r = await fetch("/api/plans/save_plan", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-csrf-token": token },
      body: "id=x&body=%7B%7D",
    });
    return [r.status, await r.text()] as const;
  });
  expect(status[0]).toBe(403);
  expect(status[1]).toContain("needs the planner role (you are viewer)");
  await page.goto("/audit");
  await expect(page.getByText("This needs the admin role (you are viewer).")).toBeVisible();
});

test("an admin reads the audit trail, and signs out", async ({ browser }) => {
  const page = await signedIn(browser, "ada");
  await page.getByRole("link", { name: "Audit" }).click();
  await expect(page).toHaveURL(/\/audit/);
  await expect(page.getByRole("cell", { name: "plan.save", exact: true }).first()).toBeVisible();
  await expect(page.getByRole("cell", { name: "auth.sign_in", exact: true }).first()).toBeVisible();
  await expect(page.getByRole("cell", { name: "pia", exact: true }).first()).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?next=/);
});
