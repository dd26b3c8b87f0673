import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";

// Single sign-on in a real browser: this spec starts the loopback OpenID provider (scripts/oidc-provider.mjs, npm
// oidc-provider from tools/oidc) and its own `peerplan serve --oidc-issuer …` on other 127.0.0.1 ports, then signs
// in through the provider's login and consent pages as alice (group netops → admin) and as carol (no group that
// maps to a role: refused).

const bin = process.env.PEERPLAN_BIN;
const repo = join(__dirname, "../..");
const siteRoot = join(repo, "target/site");
const clientSecret = "e2e-client-secret";
const password = "e2e-provider-password";
const children: ChildProcess[] = [];
let base = "";
let data = "";

test.describe.configure({ mode: "serial" });

/** A free 127.0.0.1 port (the server's callback URL must be known before the provider starts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `command args`, resolves with the first match of `pattern` in its output. */
function startAndWait(command: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp, what: string): Promise<string> {
  const child = spawn(command, args, { env, stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 60 s`)), 60_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      const m = pattern.exec(chunk.toString());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`${what} exited (${code})`)));
  });
}

test.beforeAll(async () => {
  if (!bin) throw new Error("PEERPLAN_BIN is not set: run the end-to-end tests through scripts/e2e.sh");
  data = mkdtempSync(join(tmpdir(), "peerplan-oidc-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const issuer = await startAndWait(
    "node",
    [join(repo, "scripts/oidc-provider.mjs"), "0", "--exit-with-stdin"],
    {
      ...process.env,
      OIDC_CLIENT_ID: "peerplan",
      OIDC_CLIENT_SECRET: clientSecret,
      OIDC_REDIRECT_URIS: `${base}/login/oidc/callback`,
      OIDC_TEST_PASSWORD: password,
    },
    /oidc-provider issuer (http:\/\/127\.0\.0\.1:\d+)/,
    "the OpenID provider",
  );
  const secretFile = join(data, "oidc-secret");
  writeFileSync(secretFile, `${clientSecret}\n`, { mode: 0o600 });
  const env = { ...process.env };
  delete env.LEPTOS_SITE_ADDR;
  const served = await startAndWait(
    bin,
    [
      "serve", "--no-demo", "--addr", `127.0.0.1:${port}`, "--data", join(data, "data"), "--site-root", siteRoot,
      "--oidc-issuer", issuer, "--oidc-client-id", "peerplan", "--oidc-client-secret-file", secretFile,
      "--oidc-role-map", "netops=admin,planners=planner",
    ],
    env,
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
    "the single sign-on server",
  );
  expect(served).toBe(base);
});

test.afterAll(async () => {
  for (const child of children) {
    child.stdin?.end();
    child.kill("SIGINT");
  }
  if (data) rmSync(data, { recursive: true, force: true });
});

test("alice signs in with single sign-on and is an admin", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto("/audit");
  await expect(page).toHaveURL(/\/login\?next=%2Faudit$/);
  await page.getByRole("link", { name: "Sign in with single sign-on" }).click();
  // The provider's own pages: its login form, then its consent.
  await expect(page).toHaveURL(/^http:\/\/127\.0\.0\.1:\d+\/interaction\//);
  await page.getByLabel("Login").fill("alice");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  // Back on Peerplan, signed in, where the sign-in started.
  await expect(page).toHaveURL(`${base}/audit`);
  await expect(page.getByTestId("user-badge")).toContainText("alice");
  await expect(page.getByRole("cell", { name: "auth.sign_in", exact: true }).first()).toBeVisible();
  await context.close();
});

test("carol, whose groups map to no role, is refused", async ({ browser }) => {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByRole("link", { name: "Sign in with single sign-on" }).click();
  await page.getByLabel("Login").fill("carol");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page).toHaveURL(new RegExp(`^${base}/login/oidc/callback`));
  await expect(page).toHaveTitle(/Sign-in refused/);
  await expect(page.getByRole("alert")).toContainText("carol signed in, but none of their groups");
  await expect(page.getByRole("alert")).toContainText("maps to a Peerplan role");
  await expect(page.getByRole("link", { name: "Sign in again with single sign-on" })).toBeVisible();
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?next=/);
  await context.close();
});
