import { expect, test } from "@playwright/test";
import { PlannerPage } from "./pages/planner";

// The simulator's AWS rules as a person sees them in the planner's trace panel.

test("between two interfaces of one subnet no network ACL is evaluated", async ({ page }) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.loadExample("multi-region", "vpc-prod");
  // api and db share subnet-shared; db lets in PostgreSQL only from prod's app group.
  await planner.runTrace("api", "db", "5432");
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("SG_DENY_INGRESS");
  const notEvaluated = planner.trace.locator('[data-testid="hop"]', {
    hasText: "same subnet: network ACL not evaluated",
  });
  await expect(notEvaluated).toHaveCount(2);
  await expect(planner.trace.locator('[data-testid="hop"][data-stage="NaclOutbound"]')).toContainText(
    "same subnet: network ACL not evaluated",
  );
});

test("an address that no interface holds is UNKNOWN_DESTINATION, naming the subnet and nearest endpoints", async ({
  page,
}) => {
  const planner = new PlannerPage(page);
  await planner.goto();
  await planner.loadExample("seed", "vpc-b");
  await planner.runTrace("bucket-a", "172.16.2.99", "7010");
  await expect(planner.trace.getByTestId("trace-code")).toHaveText("UNKNOWN_DESTINATION");
  await expect(planner.trace.getByTestId("trace-verdict")).toContainText("no modelled interface holds that address");
  await expect(planner.trace.getByTestId("trace-verdict")).toContainText("agent-b");
  await expect(planner.trace.getByTestId("hops-return")).toHaveCount(0);
});
