// What a new admin and a visitor on a phone ran into on the status page, each checked on the
// viewport where it was seen: confirmations after publishing, monitors that can be edited and
// paused, errors as sentences by their fields with nothing typed lost, impact in plain words,
// the organisation's branding, the phone's uptime bar and incident links, times in the reader's
// zone, and a legend that keeps each colour with its label.
import { expect, expectAccessible, loginAsAdmin, test } from "./helpers";

test.use({ timezoneId: "Europe/Berlin" });

const desktopOnly = (name: string) => test.skip(name !== "desktop", "seen on the desktop");
const phoneOnly = (name: string) => test.skip(name !== "phone", "seen on the phone");

test("publishing confirms what happened with a link to the public page; a refused maintenance keeps its ticks", async ({
  page,
}, testInfo) => {
  desktopOnly(testInfo.project.name);
  await loginAsAdmin(page, "/admin/incidents");
  const inc = page.locator("#new-incident form");
  // Impact reads as words with one line each.
  await expect(inc.getByLabel("Impact").locator("option")).toHaveText([
    /^None — /,
    /^Minor — Some people notice/,
    /^Major — /,
    /^Critical — The service is down/,
  ]);
  await expect(inc.getByLabel("Status", { exact: true }).locator("option").first()).toHaveText(
    /^Investigating — Something is wrong/,
  );
  await inc.getByLabel("Title").fill("Search is slow (newcomer)");
  await inc.getByLabel("Impact").selectOption("minor");
  await inc.getByLabel("Message (Markdown)").fill("Searching takes seconds.");
  await inc.getByRole("button", { name: "Publish incident" }).click();
  const notice = page.getByRole("status").filter({ hasText: "Published." });
  await expect(notice).toContainText("The incident is on the public status page now.");
  await notice.getByRole("link", { name: "See it on the public page" }).click();
  await expect(page).toHaveURL(/\/incidents\/[a-z0-9]+$/);
  await expect(page.locator("article.incident h1")).toHaveText("Search is slow (newcomer)");
  // Resolve it again so other tests see a calm page.
  await page.goto(page.url().replace("/incidents/", "/admin/incidents/"));
  await page.getByLabel("Status", { exact: true }).selectOption("resolved");
  await page.getByLabel(/^Message/).fill("Fixed.");
  await page.getByRole("button", { name: "Post update" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Update posted." })).toBeVisible();

  // Maintenance that ends before it starts: a sentence next to the field, everything kept.
  await page.goto("/admin/incidents");
  const m = page.locator("#new-maintenance form");
  await expect(page.locator("#new-maintenance")).not.toContainText(/postmortem/i);
  await m.getByLabel("Title").fill("Index rebuild (newcomer)");
  await m.getByLabel(/^Starts/).fill("2030-03-01T10:00");
  await m.getByLabel(/^Ends/).fill("2030-03-01T09:00");
  await m.getByLabel("What will happen (Markdown)").fill("The index is rebuilt.");
  await m.getByLabel("Git index").check();
  await m.getByLabel("Publishing").check();
  await m.getByRole("button", { name: "Schedule maintenance" }).click();
  const form = page.locator("#new-maintenance form");
  await expect(form.locator(".field-error")).toHaveText("The end must be after the start.");
  await expect(page.locator("#new-maintenance")).not.toContainText("ends:");
  await expect(form.getByLabel("Title")).toHaveValue("Index rebuild (newcomer)");
  await expect(form.getByLabel("What will happen (Markdown)")).toHaveValue("The index is rebuilt.");
  await expect(form.getByLabel("Git index")).toBeChecked();
  await expect(form.getByLabel("Publishing")).toBeChecked();
  await expect(form.getByLabel("Web UI")).not.toBeChecked();
  await form.getByLabel(/^Ends/).fill("2030-03-01T11:00");
  await form.getByRole("button", { name: "Schedule maintenance" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Scheduled." })).toContainText(
    "The maintenance is listed on the public status page now.",
  );
  await expect(page.getByLabel(/^Message/)).toBeVisible();
  await expect(page.locator("#post-update label[for=u-body]")).toHaveText("Message (Markdown)");
  // Cancel it again (admins may delete a maintenance that has not started).
  await page.getByLabel("Yes, delete it for good").check();
  await page.getByRole("button", { name: "Delete" }).click();
  await expect(page).toHaveURL(/\/admin\/incidents$/);
});

test("monitors can be edited, paused and resumed; counts read as English; errors sit by their field", async ({
  page,
}, testInfo) => {
  desktopOnly(testInfo.project.name);
  await loginAsAdmin(page, "/admin/monitors");
  // The subscribers page is in the admin navigation.
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Subscribers" })).toBeVisible();

  // A probe of Firstline itself is refused in a sentence next to the URL, and the form keeps it.
  const add = page.locator("form[action='/admin/monitors']");
  await add.getByLabel("Name").fill("Own page (newcomer)");
  await add.getByLabel("URL (probes)").fill(`${new URL(page.url()).origin}/status`);
  await add.getByLabel("Failures in a row before down").fill("1");
  await add.getByRole("button", { name: "Add monitor" }).click();
  const url = page.getByLabel("URL (probes)");
  await expect(url).toHaveValue(/\/status$/);
  await expect(page.getByLabel("Name")).toHaveValue("Own page (newcomer)");
  await expect(page.getByLabel("Failures in a row before down")).toHaveValue("1");
  const err = page.locator(".field-error[data-field=url]");
  await expect(err).toHaveText(/^The URL points at this Firstline server/);
  await expect(page.locator("main")).not.toContainText("url: ");
  // The note is right under the URL field.
  const [fieldBox, errBox] = [await url.boundingBox(), await err.boundingBox()];
  expect(errBox!.y - (fieldBox!.y + fieldBox!.height)).toBeLessThan(40);

  // A heartbeat with one failure allowed.
  await page.getByLabel("Kind").selectOption("heartbeat");
  await page.getByLabel("Name").fill("Backup job (newcomer)");
  await page.getByLabel("URL (probes)").fill("");
  await page.getByRole("button", { name: "Add monitor" }).click();
  await expect(page.getByRole("status")).toHaveText("Monitor added.");
  const row = page.locator("[data-monitor='Backup job (newcomer)']");
  await expect(row).toContainText("down after 1 failure in a row");
  await expect(page.locator("main")).not.toContainText("1 failures");

  // Edit: rename and allow three failures.
  await row.getByRole("link", { name: "Edit" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Edit monitor Backup job (newcomer)");
  await page.getByLabel("Name").fill("Nightly backup (newcomer)");
  await page.getByLabel("Failures in a row before down").fill("3");
  await page.getByRole("button", { name: "Save changes" }).click();
  const renamed = page.locator("[data-monitor='Nightly backup (newcomer)']");
  await expect(renamed).toContainText("down after 3 failures in a row");

  // Pause, then resume.
  await renamed.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByRole("status")).toContainText("Monitor paused.");
  await expect(renamed.locator(".tag")).toHaveText("Paused");
  await expect(renamed).toContainText("not checked, opens no alerts");
  await renamed.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByRole("status")).toContainText("Monitor resumed.");
  await expect(renamed.locator(".tag")).toHaveText("Not checked yet");
  await expectAccessible(page);
  await renamed.getByRole("button", { name: "Delete" }).click();
  await expect(renamed).toHaveCount(0);
});

test("the page carries the organisation's name, logo and links; links are http(s), the logo a real image", async ({
  page,
  browser,
}, testInfo) => {
  desktopOnly(testInfo.project.name);
  await loginAsAdmin(page, "/admin/components");
  await page.getByRole("link", { name: "Status page settings" }).click();
  await expect(page.getByLabel("Page name")).toHaveValue("crates.io");
  try {
    // A javascript: link is refused in a sentence, and what was typed stays.
    await page.getByLabel("Page name").fill("Rust <Crates> Registry");
    await page.getByLabel(/^Your website/).fill("javascript:alert(1)");
    await page.getByLabel(/^Footer links/).fill("Code of conduct https://www.rust-lang.org/policies/code-of-conduct");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.locator("#site_url-error")).toHaveText("The website link must start with http:// or https://.");
    await expect(page.getByLabel("Page name")).toHaveValue("Rust <Crates> Registry");
    await expect(page.getByLabel(/^Footer links/)).toHaveValue(/Code of conduct/);
    await page.getByLabel(/^Your website/).fill("https://www.rust-lang.org/");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status")).toContainText("Saved.");

    // An SVG is refused whatever it is called; a PNG is taken.
    const svg = Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>");
    await page.getByLabel(/PNG, JPEG or WebP/).setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: svg });
    await page.getByRole("button", { name: "Upload logo" }).click();
    await expect(page.locator("#logo-error")).toContainText("The logo must be a PNG, JPEG or WebP image");
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAACgAAAAoCAYAAACM/rhtAAAAOUlEQVR42u3OIQ0AAAgAMBoQjSD015CCDXFx/8iu+SwEBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQVvLIMRIqZhpRy3AAAAAElFTkSuQmCC",
      "base64",
    );
    await page.getByLabel(/PNG, JPEG or WebP/).setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: png });
    await page.getByRole("button", { name: "Upload logo" }).click();
    await expect(page.getByRole("status")).toContainText("Logo uploaded.");

    // A visitor sees the organisation's page; Firstline is only the small print.
    const visitor = await browser.newContext();
    const pub = await visitor.newPage();
    await pub.goto("/status");
    await expect(pub.getByRole("heading", { level: 1 })).toHaveText("Rust <Crates> Registry status");
    const logo = pub.locator("img.org-logo");
    await expect(logo).toHaveAttribute("alt", "Rust <Crates> Registry logo");
    await expect.poll(() => logo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(40);
    await expect(pub.getByRole("link", { name: "Rust <Crates> Registry website" })).toHaveAttribute(
      "href",
      "https://www.rust-lang.org/",
    );
    await expect(pub.getByRole("navigation", { name: "Rust <Crates> Registry links" }).getByRole("link")).toHaveText([
      "Code of conduct",
    ]);
    await expect(pub.locator(".footer")).toContainText("Powered by Firstline");
    const src = await logo.getAttribute("src");
    const res = await pub.request.get(src!);
    expect(res.headers()["content-type"]).toBe("image/png");
    expect(res.headers()["cache-control"]).toContain("max-age=31536000");
    const summary = await (await pub.request.get("/api/v2/summary.json")).json();
    expect(summary.page.name).toBe("Rust <Crates> Registry");
    await expectAccessible(pub);
    await visitor.close();
  } finally {
    // Back to the demo's page for the other tests.
    await page.goto("/admin/branding");
    await page.getByLabel("Page name").fill("crates.io");
    await page.getByLabel(/^Your website/).fill("");
    await page.getByLabel(/^Footer links/).fill("");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status")).toContainText("Saved.");
    const remove = page.getByRole("button", { name: "Remove logo" });
    if (await remove.count()) await remove.click();
  }
});

test("on a phone the bar's percentage is for the 30 days shown, and incidents are links big enough to tap", async ({
  page,
}, testInfo) => {
  phoneOnly(testInfo.project.name);
  await page.goto("/status");
  // The API's outage two months ago is on the 90-day figure, not on the 30 days a phone shows.
  const api = page.locator('.component:has(.component-name:text-is("API"))');
  await expect(api.locator(".bar > i:visible")).toHaveCount(30);
  await expect(api.locator(".bar-legend")).toContainText("30 days ago");
  await expect(api.locator(".bar-legend span:visible", { hasText: "uptime" })).toHaveText("100.00% uptime");
  await expect(api.locator(".bar-legend span:visible", { hasText: "99." })).toHaveCount(0);
  // Sparse index had an incident this month: listed under the bar as a link that opens it.
  const sparse = page.locator('.component:has(.component-name:text-is("Sparse index"))');
  const link = sparse.locator(".bar-incidents a", { hasText: "Sparse index serving stale crate versions" });
  await expect(link).toBeVisible();
  // No link, button or field on the page is smaller than a fingertip (a checkbox is tapped
  // through its label).
  const small = await page.locator("main").evaluate((main) =>
    [...main.querySelectorAll("a[href], button, input, select, textarea, summary")]
      .map((el) => (el.matches("label input[type=checkbox]") ? el.closest("label")! : el))
      .map((el) => ({ el, r: el.getBoundingClientRect() }))
      .filter(({ el, r }) => r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden")
      .filter(({ r }) => r.width < 44 || r.height < 44)
      .map(({ el, r }) => `${el.tagName} "${(el.textContent || "").trim().slice(0, 40)}" ${Math.round(r.width)}x${Math.round(r.height)}`),
  );
  expect(small).toEqual([]);
  await link.click();
  await expect(page.locator("article.incident h1")).toHaveText("Sparse index serving stale crate versions");
  // Older incidents stay reachable: the history, month by month.
  await page.getByRole("link", { name: "History" }).click();
  await page.getByRole("link", { name: "← Earlier" }).click();
  await page.getByRole("link", { name: "← Earlier" }).click();
  await expect(page.locator("article.incident").first()).toBeVisible();
});

test("times show in the reader's zone with the live module, and in UTC, labelled, without JavaScript", async ({
  page,
  browser,
}, testInfo) => {
  phoneOnly(testInfo.project.name);
  await page.goto("/status");
  const updated = page.locator("#status-live time").first();
  // Berlin in winter: the module names the zone (GMT+1 or CET, by the browser's locale data).
  await expect(updated).toHaveText(/(GMT\+1|CET)$/);
  await expect(updated).toHaveAttribute("title", / UTC$/);
  await expect(updated).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await page.locator("article.incident h3 a").first().click();
  await expect(page.locator("main time").first()).toHaveText(/(GMT\+1|CET)$/);

  const off = await browser.newContext({ javaScriptEnabled: false, timezoneId: "Europe/Berlin" });
  const plain = await off.newPage();
  await plain.goto("/status");
  const times = plain.locator("#status-live time");
  expect(await times.count()).toBeGreaterThan(1);
  for (const t of await times.allTextContents()) expect(t).toMatch(/ UTC$/);
  await off.close();
});

test("the legend keeps each colour with its label on a phone", async ({ page }, testInfo) => {
  phoneOnly(testInfo.project.name);
  await page.setViewportSize({ width: 320, height: 700 });
  await page.goto("/status");
  const items = page.locator(".legend .legend-item");
  await expect(items).toHaveCount(5);
  for (const item of await items.all()) {
    const key = await item.locator(".key").boundingBox();
    const box = await item.boundingBox();
    // One line each: the swatch sits on the item's only line.
    expect(box!.height).toBeLessThan(30);
    expect(key!.y).toBeGreaterThanOrEqual(box!.y - 1);
    expect(key!.y + key!.height).toBeLessThanOrEqual(box!.y + box!.height + 1);
  }
  await page.screenshot({ path: testInfo.outputPath("legend-320.png") });
});
