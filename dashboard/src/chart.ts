// One ECharts instance per chart container. After every render the container carries what
// ECharts actually holds, read back from the instance: data-state (ready | empty | error) and
// data-points (data points over all series). The browser test and analysts' tooling read these.

import * as echarts from "echarts/core";
import { BarChart, HeatmapChart, LineChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, HeatmapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export type ChartOption = echarts.EChartsCoreOption;

const instances = new Set<echarts.ECharts>();
window.addEventListener("resize", () => instances.forEach((c) => c.resize()));

/** A chart container and its ECharts instance. */
export class ChartSlot {
  private chart: echarts.ECharts | null = null;
  private readonly placeholder: HTMLElement;

  constructor(readonly element: HTMLElement) {
    this.placeholder = document.createElement("div");
    this.placeholder.className = "placeholder";
  }

  /** Draws `option` (replacing the previous one), or the `emptyText` when `hasData` is false. */
  render(option: ChartOption, hasData: boolean, emptyText = "No payments in this window"): void {
    if (!hasData) {
      this.showText(emptyText, "empty");
      return;
    }
    this.element.classList.remove("empty");
    this.placeholder.remove();
    if (!this.chart) {
      this.chart = echarts.init(this.element, undefined, { renderer: "canvas" });
      instances.add(this.chart);
    }
    // No grow-in animation: a redraw (filters, live mode) shows the new numbers at once, and a
    // screenshot never catches a half-drawn chart.
    this.chart.setOption({ animation: false, ...option }, { notMerge: true });
    const points = countPoints(this.chart.getOption());
    this.element.dataset.points = String(points);
    this.element.dataset.series = String(seriesCount(this.chart.getOption()));
    this.element.dataset.categories = String(categoryCount(this.chart.getOption()));
    this.element.dataset.state = points > 0 ? "ready" : "empty";
  }

  /** Replaces the chart with a line of text (no data, or the error that stopped it). */
  showText(text: string, state: "empty" | "error"): void {
    if (this.chart) {
      instances.delete(this.chart);
      this.chart.dispose();
      this.chart = null;
    }
    this.element.textContent = "";
    this.placeholder.textContent = text;
    this.element.appendChild(this.placeholder);
    this.element.classList.add("empty");
    this.element.dataset.points = "0";
    this.element.dataset.series = "0";
    this.element.dataset.categories = "0";
    this.element.dataset.state = state;
  }
}

type SeriesLike = { data?: unknown[] };

function seriesOf(option: unknown): SeriesLike[] {
  const series = (option as { series?: SeriesLike[] | SeriesLike }).series;
  if (!series) return [];
  return Array.isArray(series) ? series : [series];
}

/** Categories on the first category axis (x, else y): the buckets of a time series. */
function categoryCount(option: unknown): number {
  const o = option as { xAxis?: { type?: string; data?: unknown[] }[]; yAxis?: { type?: string; data?: unknown[] }[] };
  const axis = [...(o.xAxis ?? []), ...(o.yAxis ?? [])].find((a) => a.type === "category");
  return axis?.data?.length ?? 0;
}

function seriesCount(option: unknown): number {
  return seriesOf(option).length;
}

/** Data points over all series, skipping null/"-" (ECharts' gaps) and zero-size heatmap cells. */
function countPoints(option: unknown): number {
  let n = 0;
  for (const s of seriesOf(option)) {
    for (const d of s.data ?? []) {
      const value = d && typeof d === "object" && !Array.isArray(d) ? (d as { value?: unknown }).value : d;
      if (value === null || value === undefined || value === "-") continue;
      n += 1;
    }
  }
  return n;
}
