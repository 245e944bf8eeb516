/**
 * The run directory module: its layout, and one schema, writer and reader per file. Everything that reads or
 * writes a run, an ablation folder or a cross-validation folder goes through here.
 */
export * from './layout.ts';
export * from './config-file.ts';
export * from './environment.ts';
export * from './history.ts';
export * from './metrics-file.ts';
export * from './predictions.ts';
export * from './classification-report.ts';
export * from './run-dir.ts';
export * from './ablation-plan.ts';
export * from './trial-record.ts';
export * from './ablation-summary.ts';
export * from './resume.ts';
export * from './cross-validation-summary.ts';
export * from './dense-thresholds.ts';
export * from './dense-examples.ts';
export * from './model.ts';
