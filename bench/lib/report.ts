/** One figure of a benchmark beside its same-run baseline. */
export interface BenchFigure {
  /** What was measured, e.g. `decode 200 B events`. */
  name: string;
  /** The measured value. */
  value: number;
  /** Unit of `value` and `baseline`, e.g. `MB/s`, `µs`, `ops/s`. */
  unit: string;
  /** What the baseline is, e.g. `JSON.parse per line`. Omit for figures with no baseline. */
  baselineName?: string;
  /** The baseline measured in the same run. */
  baseline?: number;
  /** Whether a larger value is better (throughput) or worse (latency). */
  higherIsBetter: boolean;
  /** The goal as a ratio to the baseline (e.g. 0.8 means ≥ 0.8× the baseline), or an absolute bound. */
  goal?: { ratio?: number; value?: number };
}

/** A benchmark module: `bench/<name>.bench.ts` default-exports one of these. */
export interface Benchmark {
  /** Short title printed above the table. */
  title: string;
  run(): Promise<BenchFigure[]>;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** The ratio figure ÷ baseline, as the table prints it. */
export function ratioOf(figure: BenchFigure): number | undefined {
  if (figure.baseline === undefined || figure.baseline === 0) return undefined;
  return figure.value / figure.baseline;
}

function goalText(figure: BenchFigure): string {
  const goal = figure.goal;
  if (!goal) return '';
  const parts: string[] = [];
  const ratio = ratioOf(figure);
  if (goal.ratio !== undefined && ratio !== undefined) {
    const met = figure.higherIsBetter ? ratio >= goal.ratio : ratio <= goal.ratio;
    parts.push(`${figure.higherIsBetter ? '≥' : '≤'} ${goal.ratio}× ${met ? 'met' : 'MISSED'}`);
  }
  if (goal.value !== undefined) {
    const met = figure.higherIsBetter ? figure.value >= goal.value : figure.value <= goal.value;
    parts.push(
      `${figure.higherIsBetter ? '≥' : '≤'} ${format(goal.value)} ${figure.unit} ${met ? 'met' : 'MISSED'}`,
    );
  }
  return parts.join(', ');
}

/** Prints a benchmark's figures as a Markdown table (so it can be pasted into docs/benchmarks.md). */
export function printFigures(title: string, figures: BenchFigure[]): void {
  const lines = [
    `\n### ${title}\n`,
    '| figure | value | baseline (same run) | ratio | goal |',
    '|---|---|---|---|---|',
  ];
  for (const figure of figures) {
    const ratio = ratioOf(figure);
    const baseline =
      figure.baseline === undefined
        ? '—'
        : `${format(figure.baseline)} ${figure.unit} (${figure.baselineName})`;
    lines.push(
      `| ${figure.name} | ${format(figure.value)} ${figure.unit} | ${baseline} | ${
        ratio === undefined ? '—' : `${ratio.toFixed(2)}×`
      } | ${goalText(figure)} |`,
    );
  }
  console.log(lines.join('\n'));
}
