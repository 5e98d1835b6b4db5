/**
 * Charts with Apache ECharts, rendered on the server as SVG (the SSR mode: no DOM, no browser, no client script).
 * The dashboard's CSP allows no inline script, and ECharts' SSR client runtime only forwards mouse events (it draws
 * no tooltip), so the SVG is static: ECharts draws the axes, legend and labels, and each data shape gets a <title>
 * (the browser's own tooltip on hover or long-press) from `tip`.
 *
 * Cost (npm run bench:charts, npm run bench:embedded, docs/performance.md): loading the library once, on the first
 * chart, not at start-up (~40 MB RSS under tsx with only its parts loaded; the indexes took ~75 MB), and ~10 ms of CPU
 * per chart. Rendered SVG is kept in a small LRU keyed by the option,
 * so reloading a page whose figures have not changed renders nothing.
 */
import type { EChartsCoreOption } from "echarts/core";
import { esc, raw, type Raw } from "./views.js";

type ECharts = typeof import("echarts/core");
let loading: Promise<ECharts> | null = null;

/**
 * The library with only the parts the dashboard draws (bars; grid, legend, marked areas, aria), each loaded from its
 * own module: the `echarts/charts` and `echarts/components` indexes load every chart and component there is (twice
 * the memory and three times the loading time under tsx, docs/performance.md). Each of these modules registers its
 * part with the core on load, as `use()` does with the indexes' exports.
 */
function library(): Promise<ECharts> {
  loading ??= (async () => {
    const [core, renderers] = await Promise.all([
      import("echarts/core"),
      import("echarts/renderers"),
      import("echarts/lib/chart/bar"),
      import("echarts/lib/component/grid"),
      import("echarts/lib/component/legend"),
      import("echarts/lib/component/markArea"),
      import("echarts/lib/component/aria"),
    ]);
    core.use([renderers.SVGRenderer]);
    return core;
  })();
  return loading;
}

/** The page's font stack, large enough to read on a phone once the SVG is scaled to the screen. */
// Single quotes only: ECharts writes the family into a style="" attribute without escaping it.
export const CHART_TEXT = { fontFamily: "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif", fontSize: 14, color: "#3e4c59" };

export type ChartSpec = {
  /** What the chart shows (aria-label). */
  label: string;
  /** Plain data only (no functions): the option is the cache key, and JSON drops functions. */
  option: EChartsCoreOption;
  width: number;
  height: number;
  /** The tooltip of data item `dataIndex` of series `seriesIndex`; none when undefined. */
  tip?: (seriesIndex: number, dataIndex: number) => string | undefined;
};

const CACHE_MAX = 200;
const cache = new Map<string, string>();
let rendered = 0;

/** How many charts were drawn (not served from the cache) since start: for the benchmark and tests. */
export const chartsRendered = () => rendered;

function draw(lib: ECharts, spec: ChartSpec): string {
  const chart = lib.init(null, null, { renderer: "svg", ssr: true, width: spec.width, height: spec.height, locale: "ZH" });
  try {
    chart.setOption({ animation: false, textStyle: CHART_TEXT, aria: { enabled: true }, ...spec.option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Each data shape ECharts marked with its series and index (not the legend's swatches) gets its tooltip as a <title>. */
function withTips(svg: string, tip: ChartSpec["tip"]): string {
  if (!tip) return svg;
  return svg.replace(
    /(<(path|rect|circle)\b[^>]*\becmeta_series_index="(\d+)"[^>]*\becmeta_data_index="(\d+)"[^>]*\becmeta_ssr_type="chart"[^>]*)(\/>|><\/\2>)/g,
    (whole, open: string, tag: string, s: string, d: string) => {
      const text = tip(Number(s), Number(d));
      return text === undefined ? whole : `${open}><title>${esc(text)}</title></${tag}>`;
    },
  );
}

/** The chart as inline SVG that scales to its box (the page's CSS caps its width). */
export async function chartSvg(spec: ChartSpec): Promise<Raw> {
  const key = JSON.stringify([spec.width, spec.height, spec.option, spec.tip ? tipsOf(spec) : null]);
  let svg = cache.get(key);
  if (svg === undefined) {
    svg = withTips(draw(await library(), spec), spec.tip)
      .replace(/^<svg width="\d+" height="\d+"/, `<svg class="chart" role="img" aria-label="${esc(spec.label)}"`)
      // ECharts' aria description is an aria-label on the root; ours names the chart, not the library's wording.
      .replace(/(<svg class="chart"[^>]*?) aria-label="[^"]*"([^>]*aria-label=)/, "$1$2");
    rendered += 1;
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  } else cache.delete(key);
  cache.set(key, svg);
  return raw(svg);
}

/** The tooltips are part of the key: the same bars with other words are another chart. */
function tipsOf(spec: ChartSpec): string[] {
  const series = (spec.option.series ?? []) as { data?: unknown[] }[];
  return series.flatMap((s, si) => (s.data ?? []).map((_, di) => spec.tip?.(si, di) ?? ""));
}
