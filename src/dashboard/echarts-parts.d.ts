// ECharts' per-part modules (package.json exports "./lib/chart/*", "./lib/component/*") ship no declarations; each
// registers its part with echarts/core when loaded and exports nothing (src/dashboard/charts.ts).
declare module "echarts/lib/chart/bar";
declare module "echarts/lib/component/grid";
declare module "echarts/lib/component/legend";
declare module "echarts/lib/component/markArea";
declare module "echarts/lib/component/aria";
