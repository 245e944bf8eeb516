/**
 * Host memory the loader reuses instead of allocating per batch: the slabs decode workers write a patient's slices
 * into, and the batch buffers the slices are stacked into. Allocated afresh, they cost the main thread 2.3 to 2.4
 * full garbage collections per batch of 64 slices of 224 × 224 × 3 (V8 collects as large buffers come and go, and
 * each collection marks the whole heap, on the cores the workers need); reused, 3 in 100 batches. One worker,
 * four loader epochs of 1,280 slices each: 446–580 slices/s before, 618–805 after (64 × 64 input: 743–1,483 and
 * 2,081–2,839).
 */

/**
 * SharedArrayBuffers of one size, handed to decode tasks: the worker copies the patient's finished slices into the
 * slab (packIntoSlab) and returns views of it, so the main thread receives no new memory. The size is the largest
 * patient seen so far; a patient that does not fit comes back in its own buffers, as without a slab, and the next
 * slabs are made large enough for it. Slabs are made only while none is free, so their number is the most in
 * flight at once (the loader's prefetch bound).
 */
export class SlabPool {
  private free: SharedArrayBuffer[] = [];
  private bytes = 0;

  /** A slab for the next decode task; undefined until a patient has shown how large they are. */
  take(): SharedArrayBuffer | undefined {
    if (this.bytes === 0) return undefined;
    return this.free.pop() ?? new SharedArrayBuffer(this.bytes);
  }

  /** After a task: its patient's slices took `bytes`; the slabs made from now on hold that much. */
  sized(bytes: number): void {
    if (bytes <= this.bytes) return;
    this.bytes = Math.ceil(bytes / SLAB_GRAIN) * SLAB_GRAIN;
    this.free = [];
  }

  /** Gives a slab back; a slab of an outgrown size is dropped. */
  release(slab: SharedArrayBuffer): void {
    if (slab.byteLength === this.bytes) this.free.push(slab);
  }
}

/** Slab sizes grow in steps of 1 MiB, so patients a little larger than the last do not make every slab anew. */
const SLAB_GRAIN = 1 << 20;

/** What packIntoSlab moves: a slice's values (plain copies of slices, as a decode task returns them). */
interface Values {
  data: Float32Array;
}

/**
 * Worker side: copies each slice's data into `slab`, one after another, and points the slice at its copy. Returns
 * false (leaving the slices as they are) when they do not all fit.
 */
export function packIntoSlab(slices: Values[], slab: SharedArrayBuffer): boolean {
  const bytes = sliceBytes(slices);
  if (bytes > slab.byteLength) return false;
  let offset = 0;
  for (const slice of slices) {
    const copy = new Float32Array(slab, offset, slice.data.length);
    copy.set(slice.data);
    slice.data = copy;
    offset += copy.byteLength;
  }
  return true;
}

export function sliceBytes(slices: readonly Values[]): number {
  return slices.reduce((sum, slice) => sum + slice.data.byteLength, 0);
}

/**
 * Float32Arrays by length, reused for batch images. A buffer comes back only when nothing reads it any more (the
 * loader gives it back once the batch's tensors are disposed and the backend holds no data made from it).
 */
export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();

  constructor(private readonly keep: number) {}

  /** A buffer of `length` values: reused ones hold old values, so the caller writes or zeroes every element. */
  take(length: number): { buffer: Float32Array; reused: boolean } {
    const buffer = this.free.get(length)?.pop();
    return buffer ? { buffer, reused: true } : { buffer: new Float32Array(length), reused: false };
  }

  release(buffer: Float32Array): void {
    let list = this.free.get(buffer.length);
    if (!list) this.free.set(buffer.length, (list = []));
    if (list.length < this.keep) list.push(buffer);
  }
}
