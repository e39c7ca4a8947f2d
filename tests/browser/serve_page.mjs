// serve_page.mjs — drives the `slava serve` page in Debian's chromium (headless, through
// playwright-core) like a user: type a query, see result cards, click one and check that the
// video plays from the matching second; an audio match plays in an audio element; a search
// linked by ?q= runs on load; the keyboard alone reaches and plays a result; an upload searches;
// the page fits a phone-sized window; no request leaves the server and no script error occurs.
// Screenshots land in OUTDIR. Usage: node serve_page.mjs URL OUTDIR UPLOAD_FILE
// Prints one JSON line {"ok": bool, "checks": n, "failures": [...], ...}; exit 0 only when ok.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { join, basename } from "node:path";

const [url, outDir, uploadFile] = process.argv.slice(2);
if (!url || !outDir || !uploadFile) {
  console.error("usage: node serve_page.mjs URL OUTDIR UPLOAD_FILE");
  process.exit(2);
}
const base = new URL(url);
const failures = [], notes = {};
let checks = 0;
function check(cond, what) { checks++; if (!cond) failures.push(what); return cond; }

const profile = mkdtempSync(join(outDir, "chromium-profile-"));   // a new, empty --user-data-dir
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.SLAVA_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
const errors = [], foreign = [];
function watch(page) {
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/Failed to load resource.*404/.test(m.text())) errors.push("console: " + m.text()); });
  page.on("request", (r) => { const u = new URL(r.url()); if (u.protocol !== "data:" && u.host !== base.host) foreign.push(r.url()); });
}

// Wait until the media element of the open player has seeked to (about) the card's t_start.
async function playedFrom(page, selector) {
  const el = await page.waitForSelector(selector, { timeout: 15000 });
  await page.waitForFunction((e) => e.readyState >= 2 && !e.seeking && e.currentTime > 0 || e.error, el, { timeout: 15000 }).catch(() => {});
  return el.evaluate((e) => ({ currentTime: e.currentTime, error: e.error ? e.error.code : 0, readyState: e.readyState }));
}

try {
  const page = ctx.pages()[0] || (await ctx.newPage());
  watch(page);
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector("#about").textContent.includes("clips"), null, { timeout: 10000 });

  // 1. type a query, see cards with thumbnails
  await page.fill("#q", "a red circle moves");
  await page.press("#q", "Enter");
  await page.waitForSelector(".card", { timeout: 15000 });
  await page.waitForFunction(() => /result/.test(document.querySelector("#status").textContent), null, { timeout: 15000 });
  const nCards = await page.locator(".card").count();
  check(nCards >= 3, "at least 3 result cards, got " + nCards);
  await page.waitForFunction(() => [...document.querySelectorAll(".card img")].slice(0, 3).every((i) => i.complete && i.naturalWidth > 0),
                             null, { timeout: 15000 }).catch(() => {});
  const thumbs = await page.$$eval(".card img", (imgs) => imgs.slice(0, 3).map((i) => i.naturalWidth));
  check(thumbs.length === 3 && thumbs.every((w) => w > 0), "first thumbnails loaded: " + JSON.stringify(thumbs));
  await page.waitForFunction(() => [...document.querySelectorAll(".cap")].some((c) => c.textContent.length > 0), null, { timeout: 10000 }).catch(() => {});
  check(await page.locator(".cap").first().textContent() !== "", "first card shows a caption");
  check(new URL(page.url()).searchParams.get("q") === "a red circle moves", "the URL links the search: " + page.url());
  await page.screenshot({ path: join(outDir, "page-1280x800.png") });

  // 2. click a visual card: the video plays from t_start
  const vcard = page.locator(".card[data-modality=visual]").first();
  const tStart = Number(await vcard.getAttribute("data-t-start"));
  await vcard.click();
  const v = await playedFrom(page, "#player-video");
  notes.video = { tStart, ...v };
  check(v.error === 0, "video element error " + v.error);
  check(Math.abs(v.currentTime - tStart) < 0.35, "video currentTime " + v.currentTime + " vs t_start " + tStart);
  check(await page.evaluate(() => document.querySelector("#dlg").open), "player dialog open");
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(outDir, "player-1280x800.png") });
  await page.keyboard.press("Escape");
  check(await page.evaluate(() => !document.querySelector("#dlg").open), "Escape closes the player");
  check(await page.evaluate(() => document.activeElement && document.activeElement.classList.contains("card")), "focus returns to the card");

  // 3. audio switch: an audio match plays in an audio element from its t_start
  await page.click("label:has(input[value=audio])");
  await page.waitForFunction(() => /in audio/.test(document.querySelector("#status").textContent), null, { timeout: 15000 });
  const acard = page.locator(".card[data-modality=audio]").first();
  check(await acard.count() === 1, "an audio match card");
  const aStart = Number(await acard.getAttribute("data-t-start"));
  await acard.click();
  const a = await playedFrom(page, "#player-audio");
  notes.audio = { tStart: aStart, ...a };
  check(a.error === 0 && Math.abs(a.currentTime - aStart) < 0.35, "audio currentTime " + a.currentTime + " vs t_start " + aStart);
  await page.keyboard.press("Escape");

  // 4. a linked search runs on load
  await page.goto(new URL("?q=beeps&in=audio", url).toString());
  await page.waitForSelector(".card", { timeout: 15000 });
  check(await page.inputValue("#q") === "beeps", "?q= fills the search box");
  check(await page.isChecked("input[value=audio]"), "?in=audio selects audio");

  // 5. keyboard only: '/', type, Enter, Tab to a result, Enter plays it, Escape closes
  await page.goto(url);
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  await page.keyboard.press("/");
  check(await page.evaluate(() => document.activeElement.id === "q"), "'/' focuses the search box");
  await page.keyboard.type("noise bursts");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".card", { timeout: 15000 });
  let onCard = false;
  for (let i = 0; i < 12 && !onCard; i++) {
    await page.keyboard.press("Tab");
    onCard = await page.evaluate(() => document.activeElement.classList.contains("card"));
  }
  check(onCard, "Tab reaches a result card");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#dlg").open, null, { timeout: 5000 }).catch(() => {});
  check(await page.evaluate(() => document.querySelector("#dlg").open), "Enter on a card opens the player");
  await page.keyboard.press("Escape");

  // 6. upload a video, searching in visual: the clip it came from comes first
  await page.click("label:has(input[value=visual])");
  await page.setInputFiles("#file", uploadFile);
  const name = basename(uploadFile), stem = name.replace(/\.[^.]+$/, "");
  await page.waitForFunction((n) => document.querySelector("#status").textContent.includes(n), name, { timeout: 20000 }).catch(() => {});
  const firstClip = await page.locator(".card").first().getAttribute("data-clip").catch(() => null);
  check(firstClip === stem, "upload of " + stem + ".mp4 finds it first, got " + firstClip);

  // 7. a phone-sized window: no sideways scrolling, cards in two columns
  const phone = await ctx.newPage();
  watch(phone);
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.goto(new URL("?q=a+green+square", url).toString());
  await phone.waitForSelector(".card", { timeout: 15000 });
  await phone.waitForFunction(() => [...document.querySelectorAll(".card img")].slice(0, 4).every((i) => i.complete), null, { timeout: 10000 }).catch(() => {});
  const layout = await phone.evaluate(() => {
    const cards = [...document.querySelectorAll(".card")].slice(0, 2).map((c) => c.getBoundingClientRect());
    return { scrollWidth: document.documentElement.scrollWidth, sameRow: cards.length === 2 && Math.abs(cards[0].top - cards[1].top) < 2 };
  });
  notes.phone = layout;
  check(layout.scrollWidth <= 390, "phone: page " + layout.scrollWidth + " px wide");
  check(layout.sameRow, "phone: two cards per row");
  await phone.screenshot({ path: join(outDir, "page-390x844.png") });
  await phone.close();
} catch (e) {
  failures.push("exception: " + (e && e.message ? e.message.split("\n")[0] : String(e)));
} finally {
  check(errors.length === 0, "no script errors: " + errors.join(" | "));
  check(foreign.length === 0, "no request left the server: " + foreign.join(" "));
  await ctx.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ ok: failures.length === 0, checks, failures, notes }));
process.exit(failures.length === 0 ? 0 : 1);
