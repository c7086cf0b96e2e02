/**
 * Image measurements for the nano scorecard: what a generated 32×32 scene shows, read from its pixels.
 *
 * 1. Foreground: pixels whose brightest channel clears a threshold (the background is black). The largest
 *    8-connected component is the object (VQ artefacts elsewhere are ignored); a soft mask (coverage in [0, 1],
 *    from the brightest channel relative to the object's own peak) keeps anti-aliased edges.
 * 2. Colour: mean RGB of the object's core pixels (coverage ≥ 0.75), nearest palette colour (Euclidean RGB).
 * 3. Shape: scale- and position-invariant features of the soft mask in its bounding box:
 *    - fill   = area / bounding-box area       (square ≈ 1, circle ≈ 0.79, triangle ≈ 0.5, cross ≈ 0.56)
 *    - top    = share of the mass in the upper half of the box (triangle, apex up: ≈ 0.3; the others ≈ 0.5)
 *    - corner = mean coverage of the four corner cells of a 3×3 grid over the box (cross ≈ 0, circle ≈ 0.5,
 *               square ≈ 1, triangle: top corners empty)
 *    - arms   = mean coverage of the four edge-middle cells (cross ≈ 1)
 *    These rules (`featureShape`) are right on big shapes but not at 8 px (a small square's anti-aliased rim
 *    makes its box 8×8 with fill 0.77, like a circle), so the label is decided by template fitting: each of
 *    the four shapes drawn with the world's own geometry (tools/nano/world.py shape_mask) is fitted to the
 *    object (radius ×0.8–1.2 of the box estimate, centre ±1 px in half-pixel steps) and scored by soft IoU;
 *    the best fit wins. The features stay in the result as a diagnostic (test/eval checks both on renders).
 * 4. Position: the fitted template's centre (for a triangle this is not the centroid), nearest world position.
 * 5. Size: the fitted radius, nearest world size.
 */
import sharp from 'sharp';

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];

export interface World {
  palette: Record<string, [number, number, number] | number[]>;
  positions: Record<string, [number, number] | number[]>;
  sizes: Record<string, number>;
  imageSize: number;
}

export interface RgbImage {
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel, row-major. */
  data: Uint8Array;
}

export interface ImageAnalysis {
  /** False when no foreground object was found (a black or empty image). */
  found: boolean;
  colour?: string;
  shape?: Shape;
  position?: string;
  size?: string;
  meanRgb?: [number, number, number];
  /** Object pixels (coverage sum) and its bounding box [x0, y0, x1, y1] (inclusive). */
  area?: number;
  box?: [number, number, number, number];
  centre?: [number, number];
  radius?: number;
  features?: { fill: number; top: number; corner: number; arms: number; featureShape: Shape };
  /** Soft IoU of the best template per shape. */
  templateIou?: Record<Shape, number>;
  /** Other foreground components (artefacts or a second shape), pixels. */
  otherPixels?: number;
}

/** PNG (or any sharp-readable image) bytes → RGB pixels. */
export async function readRgb(bytes: Uint8Array | string): Promise<RgbImage> {
  const { data, info } = await sharp(typeof bytes === 'string' ? bytes : Buffer.from(bytes))
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after removeAlpha, got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Anti-aliased coverage of one shape, exactly as tools/nano/world.py shape_mask (ss×ss supersampling). */
export function shapeMask(
  shape: Shape,
  r: number,
  cx: number,
  cy: number,
  width: number,
  height: number,
  ss = 4,
  win?: [number, number, number, number],
): Float32Array {
  const out = new Float32Array(width * height);
  const inv = 1 / (ss * ss);
  const w = Math.max(r / 3, 1.2);
  // Optional window [x0, y0, x1, y1] (inclusive): pixels outside stay 0 (for fitting near an object).
  const [wx0, wy0, wx1, wy1] = win ?? [0, 0, width - 1, height - 1];
  for (let py = Math.max(0, wy0); py <= Math.min(height - 1, wy1); py++) {
    for (let px = Math.max(0, wx0); px <= Math.min(width - 1, wx1); px++) {
      let n = 0;
      for (let sy = 0; sy < ss; sy++) {
        const y = py + (sy + 0.5) / ss - cy;
        for (let sx = 0; sx < ss; sx++) {
          const x = px + (sx + 0.5) / ss - cx;
          let inside: boolean;
          if (shape === 'circle') inside = x * x + y * y <= r * r;
          else if (shape === 'square') inside = Math.abs(x) <= 0.85 * r && Math.abs(y) <= 0.85 * r;
          else if (shape === 'triangle') inside = y >= -r && y <= 0.8 * r && Math.abs(x) <= ((y + r) / 1.8) * 0.62;
          else inside = (Math.abs(x) <= w && Math.abs(y) <= r) || (Math.abs(y) <= w && Math.abs(x) <= r);
          if (inside) n++;
        }
      }
      out[py * width + px] = n * inv;
    }
  }
  return out;
}

/** A scene of single objects on black, as world.render (for validating the classifier). */
export function renderScene(
  objects: { shape: Shape; colour: string; size: string; position: string }[],
  world: World,
): RgbImage {
  const W = world.imageSize;
  const acc = new Float32Array(W * W * 3);
  for (const o of objects) {
    const [cx, cy] = world.positions[o.position];
    const a = shapeMask(o.shape, world.sizes[o.size], cx, cy, W, W);
    const c = world.palette[o.colour];
    for (let i = 0; i < W * W; i++)
      for (let k = 0; k < 3; k++) acc[i * 3 + k] = acc[i * 3 + k] * (1 - a[i]) + a[i] * c[k];
  }
  const data = new Uint8Array(W * W * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.floor(acc[i] + 0.5)));
  return { width: W, height: W, data };
}

export async function pngOf(img: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
}

const FG_THRESHOLD = 60; // brightest channel; the darkest palette colour peaks at 200, the background is ≈ 0

export function analyzeImage(img: RgbImage, world: World): ImageAnalysis {
  const { width: W, height: H, data } = img;
  const bright = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) bright[i] = Math.max(data[i * 3], data[i * 3 + 1], data[i * 3 + 2]);

  // Largest 8-connected component of the binary foreground.
  const label = new Int32Array(W * H).fill(-1);
  const comps: number[][] = [];
  for (let s = 0; s < W * H; s++) {
    if (bright[s] < FG_THRESHOLD || label[s] >= 0) continue;
    const id = comps.length;
    const pix: number[] = [];
    const stack = [s];
    label[s] = id;
    while (stack.length) {
      const p = stack.pop()!;
      pix.push(p);
      const x = p % W;
      const y = (p - x) / W;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
          const q = ny * W + nx;
          if (label[q] < 0 && bright[q] >= FG_THRESHOLD) {
            label[q] = id;
            stack.push(q);
          }
        }
    }
    comps.push(pix);
  }
  if (!comps.length) return { found: false };
  let best = 0;
  for (let i = 1; i < comps.length; i++) if (comps[i].length > comps[best].length) best = i;
  const obj = comps[best];
  const otherPixels = comps.reduce((n, c, i) => n + (i === best ? 0 : c.length), 0);

  // Peak brightness of the object (90th percentile, robust to a hot pixel) → soft coverage.
  const vals = obj.map((p) => bright[p]).sort((a, b) => a - b);
  const peak = vals[Math.min(vals.length - 1, Math.floor(vals.length * 0.9))];
  // The soft mask: the component grown by one pixel (its anti-aliased rim may be below the threshold).
  const inObj = new Uint8Array(W * H);
  for (const p of obj) inObj[p] = 1;
  const mask = new Float32Array(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let near = false;
      for (let dy = -1; dy <= 1 && !near; dy++)
        for (let dx = -1; dx <= 1 && !near; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx >= 0 && ny >= 0 && nx < W && ny < H && inObj[ny * W + nx]) near = true;
        }
      if (near) mask[y * W + x] = Math.max(0, Math.min(1, bright[y * W + x] / peak));
    }

  // Colour from the core.
  const sum = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < W * H; i++)
    if (mask[i] >= 0.75) {
      for (let k = 0; k < 3; k++) sum[k] += data[i * 3 + k];
      n++;
    }
  const meanRgb = sum.map((v) => v / Math.max(1, n)) as [number, number, number];
  let colour = '';
  let bestD = Infinity;
  for (const [name, c] of Object.entries(world.palette)) {
    const d = (c[0] - meanRgb[0]) ** 2 + (c[1] - meanRgb[1]) ** 2 + (c[2] - meanRgb[2]) ** 2;
    if (d < bestD) [bestD, colour] = [d, name];
  }

  // Bounding box of pixels at least half covered (the soft rim would inflate it).
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  let area = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const m = mask[y * W + x];
      area += m;
      if (m >= 0.5) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
    }
  if (x1 < 0) return { found: false };
  const features = shapeFeatures(mask, W, x0, y0, x1, y1, area);

  // Template fit per shape: radius and centre around the box estimate, soft IoU.
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const bcx = (x0 + x1 + 1) / 2;
  const bcy = (y0 + y1 + 1) / 2;
  const guess: Record<Shape, { r: number; cx: number; cy: number }> = {
    circle: { r: Math.max(bw, bh) / 2, cx: bcx, cy: bcy },
    square: { r: Math.max(bw, bh) / 1.7, cx: bcx, cy: bcy },
    // apex at cy − r, base at cy + 0.8 r: height 1.8 r, so cy sits 0.1 r below the box centre
    triangle: { r: Math.max(bh / 1.8, bw / 1.24), cx: bcx, cy: 0 },
    cross: { r: Math.max(bw, bh) / 2, cx: bcx, cy: bcy },
  };
  guess.triangle.cy = bcy + 0.1 * guess.triangle.r;
  // Every candidate template lies within the box grown by a margin (radius ≤ 1.2× the box estimate, centre ±1 px);
  // the window also covers every pixel of the soft mask, so the IoU over it is the IoU over the image.
  const margin = Math.ceil(0.25 * Math.max(bw, bh)) + 3;
  const win: [number, number, number, number] = [
    Math.max(0, x0 - margin),
    Math.max(0, y0 - margin),
    Math.min(W - 1, x1 + margin),
    Math.min(H - 1, y1 + margin),
  ];
  for (let i = 0; i < W * H; i++) {
    if (!(mask[i] > 0)) continue;
    const x = i % W;
    const y = (i - x) / W;
    win[0] = Math.min(win[0], x);
    win[1] = Math.min(win[1], y);
    win[2] = Math.max(win[2], x);
    win[3] = Math.max(win[3], y);
  }
  const templateIou = {} as Record<Shape, number>;
  let shape: Shape = 'circle';
  let fit = { iou: -1, r: 0, cx: 0, cy: 0 };
  for (const s of SHAPES) {
    const g = guess[s];
    let bestS = { iou: -1, r: 0, cx: 0, cy: 0 };
    for (const fr of [0.8, 0.87, 0.93, 1, 1.07, 1.14, 1.2])
      for (const dx of [-1, -0.5, 0, 0.5, 1])
        for (const dy of [-1, -0.5, 0, 0.5, 1]) {
          const r = g.r * fr;
          const t = shapeMask(s, r, g.cx + dx, g.cy + dy, W, H, 2, win);
          let inter = 0;
          let uni = 0;
          for (let y = win[1]; y <= win[3]; y++)
            for (let x = win[0]; x <= win[2]; x++) {
              const i = y * W + x;
              inter += Math.min(t[i], mask[i]);
              uni += Math.max(t[i], mask[i]);
            }
          const iou = uni > 0 ? inter / uni : 0;
          if (iou > bestS.iou) bestS = { iou, r, cx: g.cx + dx, cy: g.cy + dy };
        }
    templateIou[s] = bestS.iou;
    if (bestS.iou > fit.iou) [fit, shape] = [bestS, s];
  }
  const position = nearest(world.positions, [fit.cx, fit.cy]);
  const size = Object.entries(world.sizes).reduce((a, b) =>
    Math.abs(b[1] - fit.r) < Math.abs(a[1] - fit.r) ? b : a,
  )[0];
  return {
    found: true,
    colour,
    shape,
    position,
    size,
    meanRgb: meanRgb.map((v) => Math.round(v)) as [number, number, number],
    area: round(area, 1),
    box: [x0, y0, x1, y1],
    centre: [round(fit.cx, 2), round(fit.cy, 2)],
    radius: round(fit.r, 2),
    features,
    templateIou: Object.fromEntries(Object.entries(templateIou).map(([k, v]) => [k, round(v, 3)])) as Record<
      Shape,
      number
    >,
    otherPixels,
  };
}

/** The box features and the shape they alone suggest (kept as a cross-check of the template fit). */
export function shapeFeatures(
  mask: Float32Array,
  W: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  area: number,
): NonNullable<ImageAnalysis['features']> {
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const fill = area / (bw * bh);
  let top = 0;
  const cells = new Float64Array(9);
  const cellN = new Float64Array(9);
  // Pixel centres mapped into [0, 1) of the box; halves and thirds by centre position.
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const m = mask[y * W + x];
      const v = (y - y0 + 0.5) / bh;
      const u = (x - x0 + 0.5) / bw;
      if (v < 0.5) top += m;
      else if (v === 0.5) top += m / 2;
      const c = Math.min(2, Math.floor(v * 3)) * 3 + Math.min(2, Math.floor(u * 3));
      cells[c] += m;
      cellN[c] += 1;
    }
  const cov = (i: number) => (cellN[i] ? cells[i] / cellN[i] : 0);
  const corner = (cov(0) + cov(2) + cov(6) + cov(8)) / 4;
  const arms = (cov(1) + cov(3) + cov(5) + cov(7)) / 4;
  const topShare = area > 0 ? top / area : 0.5;
  let featureShape: Shape;
  if (topShare < 0.4 && cov(0) + cov(2) < cov(6) + cov(8)) featureShape = 'triangle';
  else if (corner < 0.3 && arms > 0.6) featureShape = 'cross';
  else if (fill > 0.9 || corner > 0.8) featureShape = 'square';
  else featureShape = 'circle';
  return {
    fill: round(fill, 3),
    top: round(topShare, 3),
    corner: round(corner, 3),
    arms: round(arms, 3),
    featureShape,
  };
}

function nearest(points: Record<string, number[]>, p: [number, number]): string {
  let bestName = '';
  let bestD = Infinity;
  for (const [name, q] of Object.entries(points)) {
    const d = (q[0] - p[0]) ** 2 + (q[1] - p[1]) ** 2;
    if (d < bestD) [bestD, bestName] = [d, name];
  }
  return bestName;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
