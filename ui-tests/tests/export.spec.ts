/**
 * Figures for papers in a real JupyterLab and kernel (ui-tests/notebooks/export_figures.ipynb):
 * `w.export(...)` in the cell right after the widget, under Run All, writes a PDF, an SVG and a
 * PNG whose contents are checked in Python (pypdf, an XML parser, the PNG header); the export
 * menu downloads the same three files; a 100,000-sample Global view is exported and its time and
 * size printed.
 */
import { expect, test } from '@playwright/test';
import type { Download, Locator, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import {
  ARTIFACTS,
  openNotebook,
  printed,
  pythonJson,
  runAllCells,
  runPython,
  saveScreenshot,
  waitForKernelIdle
} from './helpers';

const HOSTILE = '<script>alert(1)</script>';

test.describe.configure({ mode: 'serial' });

let page: Page;
const dialogs: string[] = [];

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ acceptDownloads: true });
  page.on('dialog', dialog => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await openNotebook(page, 'export_figures.ipynb');
  await runAllCells(page);
  await waitForKernelIdle(page);
});

test.afterAll(async () => {
  await page.close();
});

interface PdfFacts {
  width_mm: number;
  height_mm: number;
  text: string;
  fonts: string[];
  embedded: boolean[];
}

/** Python's reading of an exported PDF: page size, text layer, the fonts its text uses, embedded or not. */
async function pdfFacts(file: string): Promise<PdfFacts> {
  return pythonJson<PdfFacts>(
    page,
    `
import json, pypdf
reader = pypdf.PdfReader(${JSON.stringify(file)})
page0 = reader.pages[0]
box = page0.mediabox
used = {}
def visit(text, cm, tm, font, size):
    if text.strip() and font is not None:
        used[str(font.get("/BaseFont"))] = font
text = page0.extract_text(visitor_text=visit)
fonts, embedded = [], []
# The fonts the text is set in (jsPDF also lists the 14 standard fonts, unused, in the resources).
for name, font in used.items():
    fonts.append(name)
    descriptor = font.get("/FontDescriptor")
    if descriptor is None and "/DescendantFonts" in font:
        descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
    descriptor = descriptor.get_object() if descriptor is not None else {}
    embedded.append(any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")))
print(json.dumps({"width_mm": float(box.width) / 72 * 25.4, "height_mm": float(box.height) / 72 * 25.4,
                  "text": text, "fonts": fonts, "embedded": embedded}))
`
  );
}

interface SvgFacts {
  texts: string[];
  scripts: number;
  event_attributes: number;
  external_links: number;
  width: string;
  images: number;
  circles: number;
}

async function svgFacts(file: string): Promise<SvgFacts> {
  return pythonJson<SvgFacts>(
    page,
    `
import json, xml.etree.ElementTree as ET
root = ET.parse(${JSON.stringify(file)}).getroot()
texts, scripts, events, links, images, circles = [], 0, 0, 0, 0, 0
for el in root.iter():
    if el.tag.split("}")[-1] == "g" and el.get("class") == "intershap-points":
        circles = sum(1 for c in el if c.tag.split("}")[-1] == "circle")
    tag = el.tag.split("}")[-1]
    if tag == "text":
        texts.append("".join(el.itertext()))
    scripts += tag == "script"
    images += tag == "image"
    for name, value in el.attrib.items():
        local = name.split("}")[-1].lower()
        events += local.startswith("on")
        links += local == "href" and not (value.startswith("#") or value.startswith("data:image/png"))
print(json.dumps({"texts": texts, "scripts": scripts, "event_attributes": events,
                  "external_links": links, "width": root.get("width"), "images": images,
                  "circles": circles}))
`
  );
}

interface PngFacts {
  width: number;
  height: number;
}

async function pngFacts(file: string): Promise<PngFacts> {
  return pythonJson<PngFacts>(
    page,
    `
import json, struct, zlib
data = open(${JSON.stringify(file)}, "rb").read()
assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "not a PNG"
width, height = struct.unpack(">II", data[16:24])
print(json.dumps({"width": width, "height": height}))
`
  );
}

/** The global score as the widget shows it (4 decimals). */
async function shownScore(widget: Locator): Promise<string> {
  const score = widget.locator('.intershap-global-score');
  // The views draw a moment after the kernel is idle: wait for the number, not the placeholder.
  await expect(score).toHaveText(/^-?\d+\.\d{4}$/);
  return ((await score.textContent()) ?? '').trim();
}

function checkSvg(facts: SvgFacts, score: string): void {
  const all = facts.texts.join('\n');
  expect(facts.width).toBe('88mm');
  for (const name of ['image', 'text', HOSTILE]) {
    expect(all, `the SVG holds ${name} as <text>`).toContain(name);
  }
  expect(all).toContain(score);
  expect(facts.scripts).toBe(0);
  expect(facts.event_attributes).toBe(0);
  expect(facts.external_links).toBe(0);
  // The scatter's points, one vector circle each (800 samples, under the vector limit), and no
  // image in their place.
  expect(facts.circles).toBeGreaterThan(700);
  expect(facts.circles).toBeLessThanOrEqual(800);
  expect(facts.images).toBe(0);
}

function checkPdf(facts: PdfFacts, score: string): void {
  expect(Math.abs(facts.width_mm - 88)).toBeLessThanOrEqual(0.5);
  // pypdf's text layer may drop spaces between glyph runs: compare without white space.
  const text = facts.text.replace(/\s+/g, '');
  for (const name of ['image', 'text', HOSTILE]) {
    expect(text, `the PDF's text layer holds ${name}`).toContain(name.replace(/\s+/g, ''));
  }
  expect(text).toContain(score);
  expect(facts.fonts.length).toBeGreaterThan(0);
  expect(facts.fonts.some(font => font.includes('DejaVu'))).toBe(true);
  expect(facts.embedded.every(Boolean), `every font embedded: ${facts.fonts.join(', ')}`).toBe(
    true
  );
}

test('w.export writes a PDF, an SVG and a PNG of what the widget shows, under Run All', async () => {
  const widget = page.locator('.intershap-widget').first();
  await expect(widget.locator('.intershap-status')).toContainText('done');
  const score = await shownScore(widget);
  const exported = await printed(page, /exported: (\[.*\])/);
  const [pdf, svg, png] = JSON.parse(exported[1]) as string[];
  expect([pdf, svg, png].map(f => path.extname(f))).toEqual(['.pdf', '.svg', '.png']);

  const cwd = (await runPython(page, 'import os; print(os.getcwd())')).trim();
  const full = (f: string) => path.join(cwd, f);
  checkPdf(await pdfFacts(full(pdf)), score);
  checkSvg(await svgFacts(full(svg)), score);
  const pngInfo = await pngFacts(full(png));
  expect(pngInfo.width).toBe(Math.round((88 / 25.4) * 600));

  for (const file of [pdf, svg, png]) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.copyFileSync(full(file), path.join(ARTIFACTS, `export-${path.basename(file)}`));
  }
  expect(dialogs).toEqual([]);
});

test('export errors name the argument and leave the widget as it was', async () => {
  const widget = page.locator('.intershap-widget').first();
  const score = await shownScore(widget);
  const out = await runPython(
    page,
    `
for call in (lambda: w.export("fig.jpg"), lambda: w.export("fig.pdf", width_mm=-1),
             lambda: w.export("fig.pdf", view="local", sample=10**9),
             lambda: w.export("fig.pdf", chart="nope")):
    try:
        call()
        print("no error")
    except (ValueError, TypeError) as error:
        print(type(error).__name__, error)
`
  );
  expect(out).toContain('ValueError path: expected a file name ending in .svg, .pdf or .png');
  expect(out).toContain('ValueError width_mm: expected a number above 0');
  expect(out).toMatch(/ValueError sample: expected an index from 0 to 799, got 1000000000/);
  expect(out).toMatch(/ValueError chart: expected one of split, heatmap/);
  expect(out).not.toContain('no error');
  expect(await shownScore(widget)).toBe(score);
});

test('the local view of a chosen sample and a single chart export too', async () => {
  const cwd = (await runPython(page, 'import os; print(os.getcwd())')).trim();
  await runPython(
    page,
    'w.export("local.svg", view="local", sample=3)\nw.export("heat.svg", chart="heatmap")'
  );
  const local = await svgFacts(path.join(cwd, 'local.svg'));
  const texts = local.texts.join('\n');
  expect(texts).toContain('Sample 3');
  expect(texts).toContain('Waterfall of sample 3');
  expect(texts).toContain(HOSTILE);
  const heat = await svgFacts(path.join(cwd, 'heat.svg'));
  expect(heat.texts.join('\n')).toContain('Mean Φ');
  expect(heat.texts.join('\n')).not.toContain('Local InterSHAP of each sample');
  // The widget's Local tab now shows that sample, as the export drew it.
  const widget = page.locator('.intershap-widget').first();
  await expect(widget.locator('.intershap-local-facts')).toHaveAttribute('data-index', '3');
});

async function menuDownload(widget: Locator, format: string): Promise<Download> {
  const toggle = widget.locator('.intershap-export-toggle');
  const body = widget.locator('.intershap-export-body');
  if (!(await body.isVisible())) {
    await toggle.click();
  }
  await widget.locator('.intershap-export-width').selectOption('88');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    widget.locator(`.intershap-export-${format}`).click()
  ]);
  return download;
}

test('the export menu downloads the same three files', async () => {
  const widget = page.locator('.intershap-widget').first();
  await widget.scrollIntoViewIfNeeded();
  const score = await shownScore(widget);
  await widget.locator('.intershap-export-toggle').click();
  await expect(widget.locator('.intershap-export-body')).toBeVisible();
  await saveScreenshot(widget, 'export-menu.png');
  const saved: Record<string, string> = {};
  for (const format of ['pdf', 'svg', 'png']) {
    const download = await menuDownload(widget, format);
    expect(download.suggestedFilename()).toBe(`intershap-global.${format}`);
    const file = path.join(ARTIFACTS, `menu-${download.suggestedFilename()}`);
    await download.saveAs(file);
    saved[format] = file;
  }
  checkPdf(await pdfFacts(saved.pdf), score);
  checkSvg(await svgFacts(saved.svg), score);
  expect((await pngFacts(saved.png)).width).toBe(Math.round((88 / 25.4) * 600));
});

test('a 100,000-sample Global view exports in seconds, with a small PDF (printed)', async () => {
  const widget = page.locator('.intershap-widget').last();
  await widget.scrollIntoViewIfNeeded();
  await expect(widget.locator('.intershap-status')).toContainText('done', { timeout: 120_000 });
  await expect(widget.locator('.intershap-scatter-points')).toHaveAttribute('data-points', /\d+/);
  const timing = await pythonJson<{ seconds: number; bytes: number }>(
    page,
    `
import json, os, time
start = time.perf_counter()
big.export("big.pdf", width_mm=180)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "bytes": os.path.getsize("big.pdf")}))
`
  );
  console.log(
    `benchmark: export of a 100,000-sample Global view (M = 4, 180 mm PDF): ${timing.seconds.toFixed(2)} s, ${(timing.bytes / 1e6).toFixed(2)} MB`
  );
  expect(timing.bytes).toBeGreaterThan(10_000);
  // Above the vector limit the points are one image at the export's dpi, under vector axes.
  const cwd = (
    await runPython(page, 'import os; big.export("big.svg"); print(os.getcwd())')
  ).trim();
  const facts = await svgFacts(path.join(cwd, 'big.svg'));
  expect(facts.circles).toBe(0);
  expect(facts.images).toBe(1);
});
