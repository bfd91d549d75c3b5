// What the phone audit checks on one page, shared with the specs that reach pages the crawl
// cannot (an invitation's page, reached only from its email): tap targets under 44 x 44 CSS px
// (unless a 44 px circle centred on the target touches no other target), sideways scrolling and
// text under 14 px.
import { Page } from "@playwright/test";
import { expect } from "./helpers";

/** The smallest comfortable tap target and text size, in CSS px. */
export const TARGET = 44;
export const MIN_TEXT = 14;

/** What one page's in-browser check finds (run inside the page). */
export type Finding = { kind: string; what: string };

export function auditInPage({ target, minText, scope }: { target: number; minText: number; scope: string }): Finding[] {
  const out: Finding[] = [];
  const TARGETS =
    "a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]";

  /** A short CSS path to an element, for the report. */
  function path(el: Element): string {
    const parts: string[] = [];
    let e: Element | null = el;
    while (e && e !== document.body && parts.length < 4) {
      let s = e.tagName.toLowerCase();
      if (e.id) {
        parts.unshift(`${s}#${e.id}`);
        break;
      }
      const cls = [...e.classList].slice(0, 2).join(".");
      if (cls) s += `.${cls}`;
      const parent: Element | null = e.parentElement;
      if (parent) {
        const same = [...parent.children].filter((c) => c.tagName === e!.tagName);
        if (same.length > 1) s += `:nth-of-type(${same.indexOf(e) + 1})`;
      }
      parts.unshift(s);
      e = parent;
    }
    return parts.join(" > ");
  }
  const text = (el: Element) =>
    ((el as HTMLElement).innerText || el.getAttribute("aria-label") || (el as HTMLInputElement).value || "")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 40);
  // Visually hidden text for screen readers: clipped to nothing by itself or an ancestor.
  const clippedCache = new Map<Element, boolean>();
  const clipped = (el: Element | null): boolean => {
    if (!el || el === document.body) return false;
    const known = clippedCache.get(el);
    if (known !== undefined) return known;
    const cs = getComputedStyle(el);
    const hidden = cs.clip === "rect(0px, 0px, 0px, 0px)" || cs.clipPath === "inset(50%)" || clipped(el.parentElement);
    clippedCache.set(el, hidden);
    return hidden;
  };
  const shown = (el: Element) => {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return false; // unrendered or visually hidden (1 px)
    if (r.right <= 0) return false; // parked off-screen (the skip link)
    // Also false inside a closed <details>, whose content keeps its layout boxes.
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    return !clipped(el);
  };

  // Targets: interactive elements; a check box or radio button counts as its label when it has one.
  const targets: Element[] = [];
  const root = document.querySelector(scope) ?? document.body;
  for (const el of root.querySelectorAll(TARGETS)) {
    if (el.matches("[tabindex]") && Number(el.getAttribute("tabindex")) < 0) continue;
    if (el.matches("input[type=checkbox], input[type=radio]")) {
      const label = (el as HTMLInputElement).labels?.[0];
      if (label && shown(label)) {
        if (!targets.includes(label)) targets.push(label);
        continue;
      }
    }
    if (shown(el)) targets.push(el);
  }
  const rects = targets.map((el) => el.getBoundingClientRect());
  const small = rects.map((r) => r.width < target - 0.5 || r.height < target - 0.5);
  const centre = (r: DOMRect) => [r.left + r.width / 2, r.top + r.height / 2];
  const related = (a: Element, b: Element) => a.contains(b) || b.contains(a);
  targets.forEach((el, i) => {
    if (!small[i]) return;
    const [cx, cy] = centre(rects[i]);
    const radius = target / 2;
    let clash: Element | null = null;
    targets.forEach((other, j) => {
      if (clash || i === j || related(el, other)) return;
      const r = rects[j];
      // The circle touches the other target's box...
      const nx = Math.max(r.left, Math.min(cx, r.right));
      const ny = Math.max(r.top, Math.min(cy, r.bottom));
      if (Math.hypot(nx - cx, ny - cy) < radius - 0.5) clash = other;
      // ...or the other target is small too and their circles touch.
      const [ox, oy] = centre(r);
      if (small[j] && Math.hypot(ox - cx, oy - cy) < target - 0.5) clash = other;
    });
    if (clash) {
      const r = rects[i];
      out.push({
        kind: "tap target",
        what: `${path(el)} "${text(el)}" ${Math.round(r.width)}x${Math.round(r.height)} px, too close to ${path(clash)} "${text(clash)}"`,
      });
    }
  });

  // No sideways scrolling; name what sticks out.
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    const wide = [...document.body.querySelectorAll("*")]
      .filter((e) => e.getBoundingClientRect().right > doc.clientWidth + 0.5 && e.getBoundingClientRect().width > 0)
      .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > doc.clientWidth + 0.5))
      .slice(0, 3)
      .map((e) => `${path(e)} (right edge ${Math.round(e.getBoundingClientRect().right)})`);
    out.push({
      kind: "sideways scroll",
      what: `page is ${doc.scrollWidth} px wide in a ${doc.clientWidth} px screen: ${wide.join("; ")}`,
    });
  }

  // Visible text under the minimum size.
  const seen = new Set<string>();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = (n.textContent || "").trim();
    const parent = n.parentElement;
    if (!t || !parent || parent.closest("script, style, noscript, template")) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || !shown(parent)) continue;
    const size = parseFloat(getComputedStyle(parent).fontSize);
    if (size < minText - 0.05) {
      const what = `${path(parent)} "${t.replace(/\s+/g, " ").slice(0, 30)}" ${size.toFixed(1)} px`;
      const key = `${path(parent)} ${size}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ kind: "small text", what });
      }
    }
  }
  return out;
}

/** Fails with every finding when the page in its current state does not fit a phone. */
export async function expectFitsPhone(page: Page) {
  const found = await page.evaluate(auditInPage, { target: TARGET, minText: MIN_TEXT, scope: "body" });
  expect(found.map((f) => `${f.kind}: ${f.what}`), `phone fit of ${page.url()}`).toEqual([]);
}
