// A time-series line chart on uPlot, themed from the CSS variables and resized with its container.
import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { theme } from '../theme';

export interface ChartSeries {
  label: string;
  values: ReadonlyArray<number | null>;
}

interface ChartProps {
  title: string;
  times: readonly number[];
  series: readonly ChartSeries[];
  format?: (n: number | null) => string;
  height?: number;
  /** One sentence on the latest values, for screen readers and the caption. */
  summary?: string;
}

const paletteSize = 8;

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

function options(props: ChartProps, width: number): uPlot.Options {
  const fmt = props.format ?? ((n: number | null) => (n === null ? '–' : String(n)));
  const axis = cssVar('--muted');
  const grid = cssVar('--grid');
  const axes: uPlot.Axis[] = [
    { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
    { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 60, values: (_u, ticks) => ticks.map((t) => fmt(t)) },
  ];
  return {
    width,
    height: props.height ?? 180,
    axes,
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    series: [
      {},
      ...props.series.map((s, i) => ({
        label: s.label,
        stroke: cssVar(`--c${(i % paletteSize) + 1}`),
        width: 2,
        spanGaps: false,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => fmt(v),
      })),
    ],
  };
}

function data(props: ChartProps): uPlot.AlignedData {
  return [props.times as number[], ...props.series.map((s) => s.values as Array<number | null>)] as uPlot.AlignedData;
}

export function TimeChart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = useRef('');
  const currentTheme = theme.value;
  const labels = props.series.map((s) => s.label).join('\u0000');

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    if (props.times.length === 0) {
      plot.current?.destroy();
      plot.current = null;
      return;
    }
    const key = `${currentTheme}|${labels}`;
    if (plot.current && shape.current === key) {
      plot.current.setData(data(props));
      return;
    }
    plot.current?.destroy();
    shape.current = key;
    plot.current = new uPlot(options(props, Math.max(200, el.clientWidth)), data(props), el);
  });

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const observer = new ResizeObserver(() => {
      const p = plot.current;
      if (p && el.clientWidth > 0 && Math.abs(p.width - el.clientWidth) > 1) p.setSize({ width: el.clientWidth, height: p.height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  const id = `chart-${props.title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <figure class="chart" aria-labelledby={`${id}-title`} aria-describedby={props.summary ? `${id}-summary` : undefined}>
      <figcaption id={`${id}-title`}>{props.title}</figcaption>
      {props.times.length === 0 && <p class="muted empty-chart">No data yet.</p>}
      <div ref={host} class="chart-host" aria-hidden="true" hidden={props.times.length === 0} />
      {props.summary && (
        <p id={`${id}-summary`} class="chart-summary">
          {props.summary}
        </p>
      )}
    </figure>
  );
}
