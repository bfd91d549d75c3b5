// Shared steps: logging in, the accessibility check every page gets, and the
// Content-Security-Policy watch every test gets.
import { expect, test as base, Browser, BrowserContext, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ADMIN_EMAIL, ADMIN_PASSWORD } from "../playwright.config";

/** Collects CSP violations (and script dialogs, which only an injection would open) in a context. */
export function watchSecurity(context: BrowserContext, found: string[]) {
  // Init scripts are injected by the browser's debugging protocol, so the policy does not stop
  // this listener; it reports each violation to the console, where the context hears it.
  void context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  context.on("console", (msg) => {
    if (msg.type() === "error" && /CSP violation|Content Security Policy/.test(msg.text())) {
      found.push(`${msg.location().url}: ${msg.text()}`);
    }
  });
  context.on("page", (page) => page.on("dialog", (d) => {
    found.push(`${page.url()}: a script opened a ${d.type()} dialog: ${d.message()}`);
    void d.dismiss();
  }));
}

/**
 * Every test runs with the watch on its own page's context and on every context it opens
 * itself; a violation anywhere fails the test.
 */
export const test = base.extend<{ securityWatch: string[] }>({
  securityWatch: [
    async ({ browser, context }, use) => {
      const found: string[] = [];
      watchSecurity(context, found);
      const original = browser.newContext.bind(browser);
      (browser as Browser).newContext = async (options) => {
        const ctx = await original(options);
        watchSecurity(ctx, found);
        return ctx;
      };
      await use(found);
      (browser as Browser).newContext = original;
      expect(found, "Content-Security-Policy violations or script dialogs").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

export async function loginAsAdmin(page: Page, next = "/dashboard") {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("Email").fill(ADMIN_EMAIL);
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(new RegExp(`${next.replace(/[/?]/g, "\\$&")}$`));
}

/** Fails on any serious or critical axe-core violation, listing them. */
export async function expectAccessible(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter(
    (v) => v.impact === "serious" || v.impact === "critical",
  );
  expect(
    bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
  ).toEqual([]);
}

/** Follows a link of the main navigation, opening the menu first where it is folded (phones). */
export async function clickNav(page: Page, name: string) {
  const menu = page.locator(".menu > summary");
  if ((await menu.isVisible()) && (await page.locator(".menu[open]").count()) === 0) await menu.click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true }).click();
}
