// Matching events over the range as bars; dragging across it narrows the range.

import { useRef, useState } from "preact/hooks";
import { formatTimestamp } from "../time";

export interface Bucket {
  start: number;
  count: number;
}

interface Props {
  from: number;
  to: number;
  bucketMs: number;
  buckets: Bucket[];
  onZoom: (from: number, to: number) => void;
}

const HEIGHT = 64;

export function Histogram({ from, to, bucketMs, buckets, onZoom }: Props) {
  const svg = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<{ a: number; b: number } | null>(null);
  const span = Math.max(1, to - from);
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const total = buckets.reduce((n, b) => n + b.count, 0);

  const timeAt = (clientX: number): number => {
    const box = svg.current!.getBoundingClientRect();
    const x = Math.min(Math.max(clientX - box.left, 0), box.width);
    return from + (x / Math.max(1, box.width)) * span;
  };
  const x = (t: number) => ((t - from) / span) * 1000;

  const finish = () => {
    if (drag) {
      const lo = Math.min(drag.a, drag.b);
      const hi = Math.max(drag.a, drag.b);
      // A click (no real drag) is not a zoom.
      if (hi - lo > span / 500) onZoom(Math.floor(lo), Math.ceil(hi));
    }
    setDrag(null);
  };

  return (
    <figure class="histogram" aria-label={`${total} matching events over the range`}>
      <svg
        ref={svg}
        viewBox={`0 0 1000 ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label="Histogram of matching events; drag to zoom in"
        data-testid="histogram"
        onPointerDown={(e) => {
          (e.currentTarget as Element).setPointerCapture(e.pointerId);
          const t = timeAt(e.clientX);
          setDrag({ a: t, b: t });
        }}
        onPointerMove={(e) => drag && setDrag({ ...drag, b: timeAt(e.clientX) })}
        onPointerUp={finish}
        onPointerCancel={() => setDrag(null)}
      >
        {buckets.map((b) => {
          const h = (b.count / max) * (HEIGHT - 4);
          return (
            <rect class="bar" x={x(b.start)} width={Math.max(1, x(b.start + bucketMs) - x(b.start) - 0.5)} y={HEIGHT - h} height={h}>
              <title>{`${formatTimestamp(b.start).slice(0, 19)}: ${b.count}`}</title>
            </rect>
          );
        })}
        {drag && (
          <rect class="selection" x={x(Math.min(drag.a, drag.b))} width={Math.abs(x(drag.b) - x(drag.a))} y={0} height={HEIGHT} />
        )}
      </svg>
      <figcaption class="muted">
        <span>{formatTimestamp(from).slice(0, 16)}</span>
        <span>{total.toLocaleString()} events</span>
        <span>{formatTimestamp(to).slice(0, 16)}</span>
      </figcaption>
    </figure>
  );
}
