import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { buildPreprocess } from '../../src/data/preprocess.ts';
import { DataFileError } from '../../src/data/readers/errors.ts';
import { applyWindows, flipSlice, namedWindows, transforms, warpSlice, windowValue } from '../../src/data/transforms/index.ts';
import type { Slice } from '../../src/data/types.ts';

function slice(rows: number, cols: number, values: ArrayLike<number>, channels = 1, source = 'mem://slice'): Slice {
  return { rows, cols, channels, data: Float32Array.from(values), meta: { source, format: 'dicom' } };
}

/** A patient of `count` slices with distinct smooth content in [0, 1]. */
function patient(count: number, size = 12, channels = 1): Slice[] {
  return Array.from({ length: count }, (_, s) =>
    slice(size, size, Array.from({ length: size * size * channels }, (_, i) => (Math.sin(i * 0.37 + s) + 1) / 2), channels, `mem://p/${s}`),
  );
}

function rounded(values: ArrayLike<number>, digits = 5): number[] {
  return Array.from(values, (v) => Number(v.toFixed(digits)));
}

describe('window arithmetic', () => {
  it('clips to [c − w/2, c + w/2] and scales to [0, 1] (hand-computed)', () => {
    const brain = namedWindows.brain; // 40/80 → [0, 80]
    expect(windowValue(-1000, brain)).toBe(0);
    expect(windowValue(0, brain)).toBe(0);
    expect(windowValue(20, brain)).toBe(0.25);
    expect(windowValue(40, brain)).toBe(0.5);
    expect(windowValue(80, brain)).toBe(1);
    expect(windowValue(1000, brain)).toBe(1);
    const subdural = namedWindows.subdural; // 80/200 → [−20, 180]
    expect(windowValue(30, subdural)).toBe(0.25);
    const bone = namedWindows.bone; // 600/2800 → [−800, 2000]
    expect(windowValue(-100, bone)).toBe(0.25);
    expect(windowValue(1300, bone)).toBe(0.75);
  });

  it('stacks the three standard windows as channels', () => {
    const out = applyWindows(slice(1, 3, [20, 30, 1300]), ['brain', 'subdural', 'bone']);
    expect([out.rows, out.cols, out.channels]).toEqual([1, 3, 3]);
    // pixel 20 HU: brain 0.25, subdural (20+20)/200 = 0.2, bone 820/2800
    expect(rounded(out.data)).toEqual(rounded([0.25, 0.2, 820 / 2800, 0.375, 0.25, 830 / 2800, 1, 1, 0.75]));
  });

  it("uses the file's own first window for 'file', and explicit {center, width}", () => {
    const withWindow: Slice = { ...slice(1, 2, [100, 300]), meta: { source: 'a.dcm', format: 'dicom', windowCenter: [200, 40], windowWidth: [400, 80] } };
    expect(rounded(applyWindows(withWindow, ['file', { center: 300, width: 100 }]).data)).toEqual([0.25, 0, 0.75, 0.5]);
  });

  it("names the file when 'file' has no window, or the input is not one channel", () => {
    expect(() => applyWindows(slice(1, 1, [0], 1, 'x/ID_1.dcm'), ['file'])).toThrow("x/ID_1.dcm: the 'file' window needs WindowCenter");
    expect(() => applyWindows(slice(1, 1, [0, 0, 0], 3, 'x/ID_2.dcm'), ['brain'])).toThrow('x/ID_2.dcm: windowing needs one channel');
  });
});

describe('flip / rotate / zoom / resize on tiny known images', () => {
  const image = slice(2, 3, [1, 2, 3, 4, 5, 6]);

  it('flips columns and rows exactly, channel by channel', () => {
    expect(Array.from(flipSlice(image, { horizontal: true, vertical: false }).data)).toEqual([3, 2, 1, 6, 5, 4]);
    expect(Array.from(flipSlice(image, { horizontal: false, vertical: true }).data)).toEqual([4, 5, 6, 1, 2, 3]);
    const twoChannels = slice(1, 2, [1, 10, 2, 20], 2);
    expect(Array.from(flipSlice(twoChannels, { horizontal: true, vertical: false }).data)).toEqual([2, 20, 1, 10]);
  });

  it('rotates a square image by 90° and 180° exactly about its centre', () => {
    const square = slice(3, 3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Counter-clockwise as displayed: the top row moves to the left column.
    expect(rounded(warpSlice(square, { degrees: 90, scale: 1, fill: 0 }).data)).toEqual([3, 6, 9, 2, 5, 8, 1, 4, 7]);
    expect(rounded(warpSlice(square, { degrees: 180, scale: 1, fill: 0 }).data)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(warpSlice(square, { degrees: 0, scale: 1, fill: 0 })).toBe(square);
  });

  it('zooms about the centre with bilinear sampling and fills what zooming out uncovers', () => {
    const row = slice(1, 5, [0, 10, 20, 30, 40]);
    // scale 2: output column c samples source column 2 + (c − 2)/2
    expect(rounded(warpSlice(row, { degrees: 0, scale: 2, fill: 0 }).data)).toEqual([10, 15, 20, 25, 30]);
    // scale 0.5: source column 2 + 2(c − 2); outside the image → fill
    expect(rounded(warpSlice(row, { degrees: 0, scale: 0.5, fill: -1 }).data)).toEqual([-1, 0, 20, 40, -1]);
  });

  it('resizes to the requested shape, keeping constant images constant', async () => {
    const resize = transforms.create({ name: 'resize', size: [4, 6] }, {});
    const constant = await resize.apply(slice(2, 3, [0.3, 0.3, 0.3, 0.3, 0.3, 0.3]), undefined);
    expect([constant.rows, constant.cols, constant.channels]).toEqual([4, 6, 1]);
    expect(rounded(constant.data, 4)).toEqual(new Array(24).fill(0.3));
    const ramp = await transforms.create({ name: 'resize', size: 8, kernel: 'nearest' }, {}).apply(slice(2, 2, [0, 1, 2, 3, 10, 11, 12, 13], 2), undefined);
    expect([ramp.rows, ramp.cols, ramp.channels]).toEqual([8, 8, 2]);
    // Nearest neighbour ×4: each source pixel becomes a 4×4 block, channels kept apart.
    expect(rounded(ramp.data.slice(0, 2), 3)).toEqual([0, 1]);
    expect(rounded(ramp.data.slice(2 * 4, 2 * 4 + 2), 3)).toEqual([2, 3]);
    expect(rounded(ramp.data.slice(2 * 8 * 4, 2 * 8 * 4 + 2), 3)).toEqual([10, 11]);
    expect(rounded(ramp.data.slice(2 * (8 * 7 + 7)), 3)).toEqual([12, 13]);
  });
});

describe('CLAHE', () => {
  const lowContrast = slice(
    32,
    32,
    Array.from({ length: 32 * 32 }, (_, i) => 0.45 + 0.1 * ((i % 32) / 31) * (Math.floor(i / 32) / 31)),
  );
  const spread = (s: Slice) => Math.max(...s.data) - Math.min(...s.data);

  it('raises the contrast of a low-contrast image, deterministically', async () => {
    for (const config of [
      { name: 'clahe', clipLimit: 3, tileGridSize: 4 },
      { name: 'clahe-local', width: 8, height: 8, maxSlope: 3 },
    ]) {
      const clahe = transforms.create(config, {});
      const first = await clahe.apply(lowContrast, undefined);
      const second = await clahe.apply(lowContrast, undefined);
      expect(spread(first)).toBeGreaterThan(2 * spread(lowContrast));
      expect(Array.from(first.data)).toEqual(Array.from(second.data));
      expect(first.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });

  it('treats channels independently: a 3-channel slice equals its channels done one by one', async () => {
    const three = patient(1, 20, 3)[0];
    for (const config of [{ name: 'clahe', tileGridSize: [3, 4] }, { name: 'clahe-local', width: 5, height: 5 }, { name: 'resize', size: [13, 27] }]) {
      const transform = transforms.create(config, {});
      const joint = await transform.apply(three, undefined);
      for (let k = 0; k < 3; k++) {
        const single = slice(20, 20, Array.from({ length: 400 }, (_, i) => three.data[i * 3 + k]));
        const alone = await transform.apply(single, undefined);
        expect(Array.from({ length: alone.data.length }, (_, i) => joint.data[i * 3 + k])).toEqual(Array.from(alone.data));
      }
    }
  });

  it('refuses values outside [0, 1], naming the file', async () => {
    for (const name of ['clahe', 'clahe-local']) {
      const clahe = transforms.create({ name }, {});
      await expect(clahe.apply(slice(2, 2, [-1000, 40, 80, 1000], 1, 'hu.dcm'), undefined)).rejects.toThrow(`hu.dcm: ${name} needs values in [0, 1]`);
    }
  });
});

describe('buildPreprocess', () => {
  const config = [
    { name: 'window', windows: ['brain', 'subdural', 'bone'] },
    { name: 'clahe', clipLimit: 2 },
    { name: 'resize', size: 16 },
    { name: 'flip', horizontal: 0.5, vertical: 0.5 },
    { name: 'rotate', degrees: 20 },
    { name: 'zoom', min: 0.8, max: 1.2 },
    { name: 'jitter', brightness: 0.1, contrast: 0.2, colour: 0.1 },
  ];
  const huPatient = (count: number) =>
    Array.from({ length: count }, (_, s) =>
      slice(12, 12, Array.from({ length: 144 }, (_, i) => -200 + ((i * 37 + s * 11) % 300)), 1, `mem://hu/${s}`),
    );

  it('is deterministic for a seed and differs across seeds', async () => {
    const preprocess = buildPreprocess(config);
    const slices = huPatient(3);
    const a = await preprocess.apply(slices, { train: true, rng: new Rng(7) });
    const b = await preprocess.apply(slices, { train: true, rng: new Rng(7) });
    const c = await preprocess.apply(slices, { train: true, rng: new Rng(8) });
    expect(a.map((s) => Array.from(s.data))).toEqual(b.map((s) => Array.from(s.data)));
    expect(a.map((s) => Array.from(s.data))).not.toEqual(c.map((s) => Array.from(s.data)));
    expect([a[0].rows, a[0].cols, a[0].channels]).toEqual([16, 16, 3]);
  });

  it('draws one set of parameters per patient: identical slices stay identical', async () => {
    const preprocess = buildPreprocess(config.slice(3));
    const same = patient(1, 10, 3)[0];
    const twins = [same, { ...same, meta: { ...same.meta, source: 'mem://twin' } }, same];
    for (const seed of [1, 2, 3, 4]) {
      const out = await preprocess.apply(twins, { train: true, rng: new Rng(seed) });
      expect(Array.from(out[1].data)).toEqual(Array.from(out[0].data));
      expect(Array.from(out[2].data)).toEqual(Array.from(out[0].data));
    }
    // perSlice draws separately, so identical inputs come out different.
    const perSlice = await preprocess.apply(twins, { train: true, rng: new Rng(1), perSlice: true });
    expect(Array.from(perSlice[1].data)).not.toEqual(Array.from(perSlice[0].data));
  });

  it('skips random steps in evaluation and is deterministic without an rng', async () => {
    const preprocess = buildPreprocess(config);
    const slices = huPatient(2);
    const evaluated = await preprocess.apply(slices, { train: false });
    const again = await preprocess.apply(slices, { train: false, rng: new Rng(99) });
    const deterministicOnly = await buildPreprocess(config.slice(0, 3)).apply(slices, { train: false });
    expect(evaluated.map((s) => Array.from(s.data))).toEqual(again.map((s) => Array.from(s.data)));
    expect(evaluated.map((s) => Array.from(s.data))).toEqual(deterministicOnly.map((s) => Array.from(s.data)));
    await expect(preprocess.apply(slices, { train: true })).rejects.toThrow('needs an rng');
  });

  it('splits into a cacheable prefix and the augmentation: prepare + augment = apply', async () => {
    const preprocess = buildPreprocess(config);
    const slices = huPatient(2);
    const whole = await preprocess.apply(slices, { train: true, rng: new Rng(5) });
    const split = await preprocess.augment(await preprocess.prepare(slices), new Rng(5));
    expect(split.map((s) => Array.from(s.data))).toEqual(whole.map((s) => Array.from(s.data)));
    const evaluated = await preprocess.finish(await preprocess.prepare(slices));
    expect(evaluated.map((s) => Array.from(s.data))).toEqual((await preprocess.apply(slices, { train: false })).map((s) => Array.from(s.data)));
  });

  it('never mutates its input slices', async () => {
    const slices = huPatient(2);
    const copies = slices.map((s) => Float32Array.from(s.data));
    await buildPreprocess(config).apply(slices, { train: true, rng: new Rng(3) });
    slices.forEach((s, i) => expect(Array.from(s.data)).toEqual(Array.from(copies[i])));
  });

  it('has a stable fingerprint of the resolved config', () => {
    const base = buildPreprocess([{ name: 'window' }, { name: 'resize', size: 224 }]);
    const explicit = buildPreprocess([{ windows: ['brain', 'subdural', 'bone'], name: 'window' }, { kernel: 'linear', name: 'resize' }]);
    expect(explicit.fingerprint()).toBe(base.fingerprint());
    expect(base.fingerprint()).toMatch(/^[0-9a-f]{16}$/);
    expect(buildPreprocess([{ name: 'window' }, { name: 'resize', size: 128 }]).fingerprint()).not.toBe(base.fingerprint());
    expect(base.config()).toEqual([
      { name: 'window', windows: ['brain', 'subdural', 'bone'] },
      { name: 'resize', size: 224, kernel: 'linear' },
    ]);
  });

  it('rejects unknown transforms and bad options, naming the step and field', () => {
    expect(() => buildPreprocess([{ name: 'window' }, { name: 'blur' }])).toThrow("preprocess[1]: unknown transform 'blur'");
    expect(() => buildPreprocess([{ name: 'flip', horizontal: 2 }])).toThrow(/preprocess\[0\] 'flip'[\s\S]*horizontal/);
    expect(() => buildPreprocess([{ name: 'rotate', angle: 5 }])).toThrow(/angle/);
    expect(() => buildPreprocess([{ name: 'zoom', min: 1.2, max: 1.1 }])).toThrow(/min must not exceed max/);
    expect(() => buildPreprocess([{ name: 'window', windows: ['lung'] }])).toThrow(/windows\.0: expected one of brain/);
  });

  it('names the file when a step fails on a slice', async () => {
    const preprocess = buildPreprocess([{ name: 'clahe' }]);
    const error = await preprocess.apply([slice(2, 2, [0, 5, 0, 0], 1, 'stage_2_train/ID_x.dcm')], { train: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataFileError);
    expect((error as Error).message).toMatch(/^stage_2_train\/ID_x\.dcm: /);
  });
});
