import { readFileSync, writeFileSync } from "node:fs";
import { expect, test } from "@playwright/test";

// Measures, in Chromium: how long a generated 1,000-VPC plan takes to render, frame times while panning it
// (requestAnimationFrame intervals, and from Chromium's performance trace each frame's pipeline and each input's
// latency), and how long the
// 1,000 × 1,000 endpoint matrix takes to compute in the browser. Plans come from PEERPLAN_BIG_PLAN and
// PEERPLAN_MATRIX_PLAN (written by `peerplan generate`). Results go to PEERPLAN_BENCH_OUT as JSON.

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: q(0.5), p95: q(0.95), max: s[s.length - 1] };
}

async function importPlan(page: import("@playwright/test").Page, path: string) {
  await page.goto("/");
  await page.getByLabel("Import (drop files here)").setInputFiles(path);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page).toHaveURL(/\/plans\/plan_/);
}

test("1,000-VPC render and pan; 1,000 × 1,000 matrix", async ({ page, browser }) => {
  const out: Record<string, unknown> = {};
  const big = process.env.PEERPLAN_BIG_PLAN!;
  const vpcs = JSON.parse(readFileSync(big, "utf8")).vpcs.length;

  // Render: from navigation to the page hydrated and the plan painted.
  await importPlan(page, big);
  const url = page.url();
  const t0 = Date.now();
  await page.goto(url);
  // The server sends the SVG diagram; once hydrated, a plan this large is painted on a canvas.
  await expect(page.getByTestId("bitmap-canvas")).toBeVisible();
  out.render_ms = Date.now() - t0;
  out.vpcs = vpcs;
  out.canvas_host_elements = await page.locator(".canvas-host *").count();

  // Pan: drag the background for ~2 s while recording frame intervals.
  const canvas = page.getByRole("region", { name: "Planner canvas" });
  const box = (await canvas.boundingBox())!;
  await page.evaluate(() => {
    (window as any).__frames = [];
    let last = performance.now();
    const tick = (t: number) => {
      (window as any).__frames.push(t - last);
      last = t;
      if ((window as any).__frames.length < 100000) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await browser.startTracing(page, {
    categories: ["devtools.timeline", "disabled-by-default-devtools.timeline.frame", "benchmark", "cc", "viz"],
  });
  const x = box.x + 20;
  const y = box.y + box.height - 20;
  await page.mouse.move(x, y);
  await page.mouse.down();
  for (let i = 0; i < 120; i++) {
    await page.mouse.move(x + (i % 60) * 6, y - (i % 40) * 4);
  }
  await page.mouse.up();
  const trace = JSON.parse((await browser.stopTracing()).toString());
  const raf: number[] = await page.evaluate(() => (window as any).__frames.slice(1));
  out.pan_raf_ms = stats(raf);
  // From Chromium's trace: each frame's pipeline (PipelineReporter, begin-frame to presentation) and each mouse
  // move's latency to the frame that showed it (EventLatency); both are async begin/end pairs.
  type Ev = { name: string; ph: string; ts: number; id?: string; id2?: { local?: string; global?: string } };
  const durations = (name: string) => {
    const open = new Map<string, number>();
    const out: number[] = [];
    for (const e of trace.traceEvents as Ev[]) {
      if (e.name !== name) continue;
      const key = e.id ?? e.id2?.local ?? e.id2?.global ?? "";
      if (e.ph === "b") open.set(key, e.ts);
      else if (e.ph === "e" && open.has(key)) {
        out.push((e.ts - open.get(key)!) / 1000);
        open.delete(key);
      }
    }
    return out;
  };
  const frames = durations("PipelineReporter");
  const latency = durations("EventLatency");
  out.pan_trace_frame_pipeline_ms = frames.length ? stats(frames) : "no PipelineReporter events";
  out.pan_trace_input_latency_ms = latency.length ? stats(latency) : "no EventLatency events";

  // Matrix: 1,000 endpoints, computed in the browser.
  await importPlan(page, process.env.PEERPLAN_MATRIX_PLAN!);
  await expect(page.locator('[data-testid="vpc-box"]').first()).toBeVisible();
  const matrix = page.getByRole("region", { name: "Reachability matrix" });
  await matrix.getByText("Reachability matrix").click();
  await expect(matrix.getByTestId("matrix-time")).toContainText("Computed in");
  out.matrix_text = await matrix.getByTestId("matrix-time").textContent();
  out.matrix_endpoints = await matrix.locator("p.muted").first().textContent();

  console.log(JSON.stringify(out, null, 2));
  if (process.env.PEERPLAN_BENCH_OUT) writeFileSync(process.env.PEERPLAN_BENCH_OUT, JSON.stringify(out, null, 2));
});
