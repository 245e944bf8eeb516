/**
 * The TypeScript contender for the `clahe` transform, measured against OpenCV's own code compiled to WebAssembly
 * (@techstark/opencv-js, which the transform uses: it was about 2× faster, bench/clahe.ts) and kept here so the
 * comparison can be rerun; test/data/clahe.test.ts holds it to the same OpenCV fixtures.
 *
 * Contrast-limited adaptive histogram equalisation computed as OpenCV's `cv::CLAHE` computes it on 8-bit
 * images (imgproc/src/clahe.cpp), so a Python pipeline using `cv2.createCLAHE(clipLimit, tileGridSize)` ports
 * unchanged:
 *  - the image is split into tilesX × tilesY tiles; when its size is not a multiple of the grid, it is first
 *    extended at the bottom and right by mirroring without repeating the edge (BORDER_REFLECT_101) by
 *    `tiles - size % tiles` pixels in each direction, as OpenCV does;
 *  - each tile's 256-bin histogram is clipped at max(1, trunc(clipLimit × tileArea / 256)) (no clipping when
 *    clipLimit ≤ 0), the clipped excess spread evenly over all bins and its remainder one per bin at a regular
 *    step from bin 0; the cumulative histogram scaled by 255 / tileArea (float) and rounded is the tile's map;
 *  - every pixel interpolates bilinearly between the maps of the four nearest tile centres (clamped at the
 *    borders), rounded as OpenCV rounds its single-precision result (half to even, like `cv::saturate_cast`).
 * All arithmetic that OpenCV does in `float` is done in float32 here (Math.fround).
 */

const BINS = 256;

/** Round half to even, as cvRound does under the default rounding mode. */
function roundHalfEven(value: number): number {
  const r = Math.round(value);
  return r - value === 0.5 && (r & 1) === 1 ? r - 1 : r;
}

export interface ClaheGrid {
  /** Tiles across (OpenCV's tileGridSize.width). */
  tilesX: number;
  /** Tiles down (OpenCV's tileGridSize.height). */
  tilesY: number;
}


/** cv::saturate_cast<uchar>(float): round half to even, clamp to 0..255. */
function saturateUint8(value: number): number {
  const r = roundHalfEven(value);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/** OpenCV's borderInterpolate for BORDER_REFLECT_101 (gfedcb|abcdefgh|gfedcba). */
function reflect101(p: number, length: number): number {
  if (length === 1) return 0;
  while (p < 0 || p >= length) p = p < 0 ? -p : 2 * length - 2 - p;
  return p;
}

/** The tile size OpenCV uses: the image, extended when the grid does not divide it, split evenly. */
function tileSize(rows: number, cols: number, { tilesX, tilesY }: ClaheGrid): { width: number; height: number } {
  const divides = cols % tilesX === 0 && rows % tilesY === 0;
  const extendedRows = divides ? rows : rows + tilesY - (rows % tilesY);
  const extendedCols = divides ? cols : cols + tilesX - (cols % tilesX);
  return { width: extendedCols / tilesX, height: extendedRows / tilesY };
}

/** One 256-entry map per tile, tile-major (ty × tilesX + tx), from the (virtually extended) image. */
function tileMaps(
  src: ArrayLike<number>,
  rows: number,
  cols: number,
  grid: ClaheGrid,
  width: number,
  height: number,
  clipLimit: number,
): Uint8Array {
  const { tilesX, tilesY } = grid;
  const area = width * height;
  const lutScale = Math.fround(255 / area);
  const limit = clipLimit > 0 ? Math.max(1, Math.trunc((clipLimit * area) / BINS)) : 0;
  const maps = new Uint8Array(tilesX * tilesY * BINS);
  const hist = new Int32Array(BINS);
  const columnIndex = new Int32Array(width);
  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      hist.fill(0);
      const x0 = tx * width;
      const inside = x0 + width <= cols;
      if (!inside) for (let x = 0; x < width; x++) columnIndex[x] = reflect101(x0 + x, cols);
      for (let y = 0; y < height; y++) {
        const rowStart = reflect101(ty * height + y, rows) * cols;
        if (inside) {
          const end = rowStart + x0 + width;
          for (let i = rowStart + x0; i < end; i++) hist[src[i]]++;
        } else {
          for (let x = 0; x < width; x++) hist[src[rowStart + columnIndex[x]]]++;
        }
      }
      if (limit > 0) clipHistogram(hist, limit);
      const base = (ty * tilesX + tx) * BINS;
      let sum = 0;
      for (let i = 0; i < BINS; i++) {
        sum += hist[i];
        maps[base + i] = saturateUint8(Math.fround(sum * lutScale));
      }
    }
  }
  return maps;
}

function clipHistogram(hist: Int32Array, limit: number): void {
  let clipped = 0;
  for (let i = 0; i < BINS; i++) {
    if (hist[i] > limit) {
      clipped += hist[i] - limit;
      hist[i] = limit;
    }
  }
  const batch = Math.trunc(clipped / BINS);
  let residual = clipped - batch * BINS;
  for (let i = 0; i < BINS; i++) hist[i] += batch;
  if (residual > 0) {
    const step = Math.max(Math.trunc(BINS / residual), 1);
    for (let i = 0; i < BINS && residual > 0; i += step, residual--) hist[i]++;
  }
}

/**
 * CLAHE of one 8-bit channel (`rows × cols`, row-major, values 0..255) into `out` (same layout; a new array when
 * omitted). `clipLimit` and the grid mean what they mean to `cv2.createCLAHE`.
 */
export function claheUint8(
  src: Uint8Array,
  rows: number,
  cols: number,
  clipLimit: number,
  grid: ClaheGrid,
  out: Uint8Array = new Uint8Array(rows * cols),
): Uint8Array {
  if (src.length !== rows * cols || out.length !== rows * cols) {
    throw new Error(`internal: CLAHE of ${rows}x${cols} given ${src.length} values and ${out.length} outputs`);
  }
  if (rows === 0 || cols === 0) return out;
  const { tilesX, tilesY } = grid;
  const { width, height } = tileSize(rows, cols, grid);
  const maps = tileMaps(src, rows, cols, grid, width, height, clipLimit);
  const invWidth = Math.fround(1 / width);
  const invHeight = Math.fround(1 / height);
  // Per column: the left and right tile maps and their weights, as OpenCV computes them (float).
  const left = new Int32Array(cols);
  const right = new Int32Array(cols);
  const rightWeight = new Float64Array(cols);
  const leftWeight = new Float64Array(cols);
  for (let x = 0; x < cols; x++) {
    const position = Math.fround(Math.fround(x * invWidth) - 0.5);
    const t1 = Math.floor(position);
    const weight = Math.fround(position - t1);
    rightWeight[x] = weight;
    leftWeight[x] = Math.fround(1 - weight);
    left[x] = Math.max(t1, 0) * BINS;
    right[x] = Math.min(t1 + 1, tilesX - 1) * BINS;
  }
  for (let y = 0; y < rows; y++) {
    const position = Math.fround(Math.fround(y * invHeight) - 0.5);
    const t1 = Math.floor(position);
    const lower = Math.fround(position - t1);
    const upper = Math.fround(1 - lower);
    const plane1 = Math.max(t1, 0) * tilesX * BINS;
    const plane2 = Math.min(t1 + 1, tilesY - 1) * tilesX * BINS;
    const rowStart = y * cols;
    // Runs of columns between the same two tile centres share their four maps.
    for (let x = 0; x < cols; ) {
      const l = left[x];
      const r = right[x];
      let runEnd = x + 1;
      while (runEnd < cols && left[runEnd] === l && right[runEnd] === r) runEnd++;
      const topLeft = plane1 + l;
      const topRight = plane1 + r;
      const bottomLeft = plane2 + l;
      const bottomRight = plane2 + r;
      for (; x < runEnd; x++) {
        const value = src[rowStart + x];
        const wl = leftWeight[x];
        const wr = rightWeight[x];
        const a = maps[topLeft + value];
        const b = maps[topRight + value];
        const c = maps[bottomLeft + value];
        const d = maps[bottomRight + value];
        // In double precision first: it differs from OpenCV's float result by far less than 1e-3, so only a
        // value that close to a rounding tie (x.5) needs the float computation to round the same way.
        const value64 = (a * wl + b * wr) * upper + (c * wl + d * wr) * lower;
        const fraction = value64 - (value64 | 0);
        if (fraction > 0.499 && fraction < 0.501) {
          const top = Math.fround(Math.fround(a * wl) + Math.fround(b * wr));
          const bottom = Math.fround(Math.fround(c * wl) + Math.fround(d * wr));
          out[rowStart + x] = saturateUint8(Math.fround(Math.fround(top * upper) + Math.fround(bottom * lower)));
        } else {
          out[rowStart + x] = (value64 + 0.5) | 0;
        }
      }
    }
  }
  return out;
}
