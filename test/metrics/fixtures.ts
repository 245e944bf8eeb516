import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { matrix, type Matrix } from '../../src/metrics/matrix.ts';

/** A case written by scripts/make-metric-fixtures.py: float32 scores, 0/1 targets, sklearn's expected values. */
export interface FixtureCase<Expected> {
  name: string;
  rows: number;
  cols: number;
  scores: number[];
  targets: number[];
  expected: Expected;
  [extra: string]: unknown;
}

export function loadFixture<Case>(name: string): Case[] {
  const path = fileURLToPath(new URL(`../fixtures/metrics/${name}.json`, import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { cases: Case[] }).cases;
}

export function scoresOf(c: FixtureCase<unknown>): Matrix<Float32Array> {
  return matrix(Float32Array.from(c.scores), c.rows, c.cols);
}

export function targetsOf(c: FixtureCase<unknown>): Matrix<Uint8Array> {
  return matrix(Uint8Array.from(c.targets), c.rows, c.cols);
}

/** Collects policy warnings instead of logging them. */
export function collectWarnings(): { warn: (message: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (message) => messages.push(message), messages };
}

/** Equal to sklearn up to float rounding; null must match null. */
export function close(actual: number | null, expected: number | null, digits = 10): boolean {
  if (actual === null || expected === null) return actual === expected;
  return Math.abs(actual - expected) <= 10 ** -digits * Math.max(1, Math.abs(expected));
}
