import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel } from '../../src/core/log.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import { attentionFileSchema } from '../../src/runs/attention.ts';
import { writeRunReport } from '../../src/report/run-report.ts';
import { tinyDemoData, tinyExperiment } from '../train/helpers.ts';

/** Tiny runs with the class-query decoder at both label levels: attention.json, and the report's heatmaps. */
describe.each(['patient', 'slice'] as const)('class attention of a tiny %s-level run', (level) => {
  let runDir: string;
  let page: string;
  let notes: string[];
  let root: string;

  beforeAll(async () => {
    const { data, root: dir } = await tinyDemoData();
    root = dir;
    const experiment = tinyExperiment(data, {
      model: {
        backbone: { name: 'small-vgg', channels: [4, 8], convsPerBlock: 1 },
        encoder: { name: 'gru', hidden: 8, pooling: 'max' },
        decoder: { name: 'query', width: 8, heads: 2, selfAttention: true },
      },
    });
    (experiment.data as { level: string }).level = level;
    // Tiny splits leave classes without positives: the undefined AUC warnings are expected here.
    setLogLevel('error');
    try {
      ({ runDir } = await runExperiment(experiment, { out: join(data, '..', 'runs') }));
    } finally {
      setLogLevel('info');
    }
    ({ notes } = await writeRunReport(runDir));
    page = readFileSync(join(runDir, 'report.html'), 'utf8');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes attention.json: test patients, one row per class over the slices the model saw, each summing to 1', () => {
    const file = attentionFileSchema.parse(JSON.parse(readFileSync(join(runDir, 'attention.json'), 'utf8')));
    const environment = JSON.parse(readFileSync(join(runDir, 'environment.json'), 'utf8'));
    expect(file.split).toBe('test');
    expect(file.groups).toHaveLength(1);
    const [group] = file.groups;
    expect(group.level).toBe(level);
    expect(group.classes).toContain('subdural');
    expect(group.patients.length).toBe(Math.min(4, environment.split.test.length));
    for (const patient of group.patients) {
      expect(environment.split.test).toContain(patient.id);
      expect(patient.sliceIndices).toEqual([0, 1, 2, 3]);
      for (const row of patient.attention) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    }
  });

  it('draws each patient as a class × slice heatmap under its slices, and per-class validation AUC per epoch', () => {
    const file = JSON.parse(readFileSync(join(runDir, 'attention.json'), 'utf8'));
    const patients = file.groups[0].patients as Array<{ id: string }>;
    expect(page).toContain('id="class-attention"');
    patients.forEach((patient, i) => {
      const svg = readFileSync(join(runDir, 'figures', `attention-${i + 1}.svg`), 'utf8');
      expect(svg).toContain(patient.id);
      // One embedded image per slice, one cell per class and slice.
      expect(svg.match(/href="data:image\/png;base64,/g)).toHaveLength(4);
      expect(svg).toContain('subdural (p ');
    });
    expect(existsSync(join(runDir, 'figures', `attention-${patients.length + 1}.svg`))).toBe(false);
    expect(existsSync(join(runDir, 'figures', 'auc-per-class.svg'))).toBe(true);
    expect(notes.filter((note) => note.startsWith('class attention'))).toEqual([]);
  });

  it('a damaged attention.json is an error naming the file and field', async () => {
    const path = join(runDir, 'attention.json');
    const good = readFileSync(path, 'utf8');
    const bad = JSON.parse(good);
    bad.groups[0].patients[0].attention[0].push(0.5);
    writeFileSync(path, JSON.stringify(bad));
    try {
      await expect(writeRunReport(runDir)).rejects.toThrow(/attention\.json[\s\S]*groups\.0\.patients\.0\.attention\.0: 5 weights for 4 slices/);
    } finally {
      writeFileSync(path, good);
    }
  });
});
