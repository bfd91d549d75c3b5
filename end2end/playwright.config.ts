// Playwright runs Firstline's release binary on a fresh temporary SQLite database with the demo
// data, and drives Debian's Chromium (never a downloaded browser) on a desktop and a phone.
import { defineConfig, devices } from "@playwright/test";

const PORT = 3197;
export const BASE_URL = `http://127.0.0.1:${PORT}`;
export const ADMIN_EMAIL = "aisha@crates-volunteers.example";
export const ADMIN_PASSWORD = "e2e demo password";

const chromium = {
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
};

export default defineConfig({
  testDir: "./tests",
  timeout: 30_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: BASE_URL,
    launchOptions: chromium,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "desktop",
      use: { ...devices["Desktop Chrome"], channel: undefined, launchOptions: chromium },
    },
    {
      name: "phone",
      use: { ...devices["Pixel 7"], launchOptions: chromium },
    },
  ],
  webServer: {
    command:
      'd="$(mktemp -d)" && FIRSTLINE_DATABASE_URL="sqlite://$d/e2e.db" exec ../target/release/firstline demo',
    url: `${BASE_URL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      FIRSTLINE_LISTEN: `127.0.0.1:${PORT}`,
      FIRSTLINE_DEMO_PASSWORD: ADMIN_PASSWORD,
      // push.spec.ts's fake push service listens on 127.0.0.1.
      FIRSTLINE_OUTBOUND_ALLOW: "127.0.0.1/32",
      RUST_LOG: "warn",
    },
  },
});
