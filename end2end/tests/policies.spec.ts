// Escalation policies: the demo admin builds the demo's policy in the editor from scratch (first
// line, then the volunteers' secondary, then the whole volunteer team, 5 minutes apart, twice
// more), previews it, saves it, and sees the chain on a service's page; on a desktop and a phone,
// with axe-core on each page.
import { Page } from "@playwright/test";
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";

/** The group of target checkboxes named `group` in step `n`, opened. */
async function targets(page: Page, n: number, group: string) {
  const details = page.locator(`fieldset[data-step="${n}"] details`, { hasText: group });
  if ((await details.getAttribute("open")) === null) {
    await details.locator("summary").click();
  }
  return details;
}

test("the demo's escalation policy, built in the editor and previewed", async ({ page }, testInfo) => {
  const project = testInfo.project.name;
  const name = `crates.io escalation (${project})`;

  await loginAsAdmin(page, "/services");
  await page.getByRole("link", { name: "Escalation policies" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Escalation policies");
  // The demo's own policy is there, used by its services.
  await expect(page.locator(".admin-row", { hasText: "crates.io escalation" }).first()).toContainText("Used by");
  await expectAccessible(page);
  await page.getByRole("link", { name: "New escalation policy" }).click();

  await page.getByLabel("Name", { exact: true }).fill(name);
  // Step 1: the contractors' first-line schedule.
  await (await targets(page, 1, "Schedules")).getByLabel("First line").check();
  await page.locator('input[name="s1_delay"]').fill("5");
  // Step 2: the volunteers' secondary (the form comes back with step 1 kept).
  await page.getByRole("button", { name: "Add step" }).click();
  await expect(page.locator('fieldset[data-step="2"]')).toBeVisible();
  await expect((await targets(page, 1, "Schedules")).getByLabel("First line")).toBeChecked();
  await (await targets(page, 2, "Schedules")).getByLabel("Volunteer secondary").check();
  await page.locator('input[name="s2_delay"]').fill("5");
  // Step 3: every volunteer.
  await page.getByRole("button", { name: "Add step" }).click();
  await (await targets(page, 3, "Teams")).getByLabel("Registry volunteers").check();
  await page.locator('input[name="s3_delay"]').fill("5");
  await page.getByLabel(/start again this many more times/).fill("2");

  await page.getByRole("button", { name: "Preview" }).click();
  const preview = page.locator(".preview-text");
  await expect(preview).toContainText("If an alert came in now: step 1 pages");
  await expect(preview).toContainText("(on call on First line)");
  await expect(preview).toContainText("after 5 min, step 2 pages");
  await expect(preview).toContainText("(on call on Volunteer secondary)");
  await expect(preview).toContainText("after 5 more min, step 3 pages everyone in Registry volunteers");
  await expect(preview).toContainText("it repeats 2 more times");
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue(name);
  await expectAccessible(page);
  await page.screenshot({ path: testInfo.outputPath(`policy-editor-${project}.png`), fullPage: true });

  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(page).toHaveURL(/\/policies\/[0-9a-z]+\?done=created$/);
  await expect(page.getByRole("status")).toContainText("Policy created");
  await expect(page.locator(".preview-text")).toContainText("step 3 pages everyone in Registry volunteers");
  await expectAccessible(page);

  // The demo's services page with the demo's policy: the chain in one sentence.
  await page.goto("/services");
  await page.getByRole("link", { name: "Sparse index" }).click();
  await expect(page.locator(".chain")).toContainText("If this alerts now:");
  await expect(page.locator(".chain")).toContainText("is paged, then");
  await expect(page.getByLabel("Escalation policy")).toHaveValue(/.+/);
  await expectAccessible(page);
  await page.screenshot({ path: testInfo.outputPath(`service-${project}.png`), fullPage: true });
});
