/**
 * The 好邻 poster: an SVG we write, rendered to PNG server-side by resvg (@resvg/resvg-js, prebuilt binaries from npm)
 * with a CJK font the project installs itself (@embedpdf/fonts-sc: Noto Sans Hans, GB2312 coverage, SIL OFL). No system
 * font is consulted, so the embedded default and the container image draw the same pixels. A character outside the
 * font (a rare name) is drawn as an empty box rather than failing the poster.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Resvg } from "@resvg/resvg-js";

const FAMILY = "Noto Sans Hans";
const require = createRequire(import.meta.url);
/** The package's own directory (its exports name only the JS entry): the OTF files sit in fonts/. */
const FONT_DIR = join(dirname(require.resolve("@embedpdf/fonts-sc")), "..", "fonts");
export const POSTER_FONTS = [join(FONT_DIR, "NotoSansHans-Regular.otf"), join(FONT_DIR, "NotoSansHans-Bold.otf")];

export const POSTER_WIDTH = 750;

const xml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string);

export type PosterPerson = { name: string; unit: string; score: number; lines: string[] };
export type PosterInput = { title: string; subtitle: string; people: PosterPerson[]; footer: string };

/** The poster as SVG (exported for tests and for a look in a browser). */
export function posterSvg(p: PosterInput): string {
  const W = POSTER_WIDTH;
  const rowH = 150;
  const top = 300;
  const H = top + Math.max(1, p.people.length) * rowH + 140;
  const rows = p.people
    .map((person, i) => {
      const y = top + i * rowH;
      const figures = person.lines
        .map((l, j) => `<text x="150" y="${y + 88 + j * 30}" font-size="22" fill="#fef3c7">${xml(l)}</text>`)
        .join("");
      return `<g>
        <rect x="40" y="${y}" width="${W - 80}" height="${rowH - 20}" rx="18" fill="#991b1b" stroke="#fbbf24" stroke-width="2"/>
        <circle cx="95" cy="${y + 65}" r="34" fill="#fbbf24"/>
        <text x="95" y="${y + 77}" font-size="34" font-weight="bold" fill="#991b1b" text-anchor="middle">${i + 1}</text>
        <text x="150" y="${y + 50}" font-size="34" font-weight="bold" fill="#ffffff">${xml(person.name)}<tspan dx="14" font-size="22" font-weight="normal" fill="#fde68a">${xml(person.unit)}</tspan></text>
        <text x="${W - 70}" y="${y + 50}" font-size="30" font-weight="bold" fill="#fde68a" text-anchor="end">${person.score} 分</text>
        ${figures}
      </g>`;
    })
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FAMILY}">
    <rect width="${W}" height="${H}" fill="#b91c1c"/>
    <rect x="20" y="20" width="${W - 40}" height="${H - 40}" rx="24" fill="none" stroke="#fbbf24" stroke-width="4"/>
    <text x="${W / 2}" y="140" font-size="64" font-weight="bold" fill="#fde68a" text-anchor="middle">${xml(p.title)}</text>
    <text x="${W / 2}" y="205" font-size="26" fill="#fef3c7" text-anchor="middle">${xml(p.subtitle)}</text>
    <line x1="120" y1="245" x2="${W - 120}" y2="245" stroke="#fbbf24" stroke-width="2"/>
    ${rows}
    <text x="${W / 2}" y="${H - 70}" font-size="24" fill="#fef3c7" text-anchor="middle">${xml(p.footer)}</text>
  </svg>`;
}

/** Render the poster to PNG. */
export function renderPoster(p: PosterInput): Buffer {
  const resvg = new Resvg(posterSvg(p), {
    font: { fontFiles: POSTER_FONTS, loadSystemFonts: false, defaultFontFamily: FAMILY },
    fitTo: { mode: "width", value: POSTER_WIDTH },
  });
  return resvg.render().asPng();
}
