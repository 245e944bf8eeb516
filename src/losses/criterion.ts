import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { parseOrThrow } from '../core/validate.ts';
import {
  groupSpans,
  outputWidth,
  targetWidth,
  totalOutputWidth,
  totalTargetWidth,
  type GroupSpan,
  type LabelGroup,
  type LabelSchema,
} from '../labels/schema.ts';
import { losses } from './registry.ts';
import type { Loss, LossConfig, OutputKind } from './types.ts';

const lossConfigSchema = z.object({ name: z.string().min(1) }).catchall(z.unknown());

const groupObjectiveSchema = z
  .object({
    /** Left out: the default for the group's kind (see `defaultLoss`). */
    loss: lossConfigSchema.optional(),
    /** Factor of this group's loss in the total. */
    weight: z.number().min(0).default(1),
  })
  .strict();

/** `{ groups: { <group name>: { loss: { name, ...options }, weight } } }`; groups left out get the defaults. */
export const criterionConfigSchema = z.object({ groups: z.record(z.string(), groupObjectiveSchema).default({}) }).strict();
export type GroupObjectiveConfig = z.output<typeof groupObjectiveSchema>;
export type CriterionConfig = z.input<typeof criterionConfigSchema>;

export function outputKind(group: LabelGroup): OutputKind {
  if (group.kind === 'ordinal') return group.mode === 'cumulative' ? 'ordinal-cumulative' : 'ordinal-regression';
  return group.kind;
}

/** The loss a group trains with unless configured: ASL for binary labels, the group's own smoothing for categorical. */
export function defaultLoss(group: LabelGroup): LossConfig {
  switch (outputKind(group)) {
    case 'binary':
      return { name: 'asl' };
    case 'categorical':
      return { name: 'categorical-ce', labelSmoothing: group.kind === 'categorical' ? group.labelSmoothing : 0 };
    case 'ordinal-regression':
      return { name: 'mse' };
    case 'ordinal-cumulative':
      return { name: 'cumulative-bce' };
  }
}

/** One group's part of the objective, with its loss config fully resolved (defaults filled in) for the record. */
export interface GroupObjective {
  span: GroupSpan;
  lossConfig: LossConfig;
  loss: Loss;
  weight: number;
}

export interface CriterionResult {
  /** Sum over groups of weight × group loss. */
  total: tf.Scalar;
  /** Each group's loss before its weight. */
  perGroup: Record<string, tf.Scalar>;
}

/**
 * logits [batch, outputWidth] or [batch, slices, outputWidth]; targets with the same leading dimensions and
 * the schema's target width; mask (optional) [batch] or [batch, slices], 0 for padded slices. The caller
 * disposes the returned scalars.
 */
export type CriterionFn = (logits: tf.Tensor, targets: tf.Tensor, mask?: tf.Tensor) => CriterionResult;
export type Criterion = CriterionFn & {
  readonly objectives: readonly GroupObjective[];
};

export function lossNamesFor(kind: OutputKind): string[] {
  return losses.names().filter((name) => losses.get(name).create(losses.resolve(name), undefined).accepts.includes(kind));
}

/**
 * A group's loss: the configured one or `fallback`, options validated, and refused (naming the losses that fit)
 * when it does not take the group's output kind.
 */
export function resolveGroupLoss(
  groupName: string,
  kind: OutputKind,
  fallback: LossConfig,
  configured: GroupObjectiveConfig | undefined,
  where: string,
): { lossConfig: LossConfig; loss: Loss; weight: number } {
  // Naming the default loss keeps the group's defaults (e.g. its label smoothing) under the options given.
  const requested = configured?.loss ?? fallback;
  const { name, ...options } = requested.name === fallback.name ? { ...fallback, ...requested } : requested;
  const lossWhere = `${where}.groups.${groupName}.loss`;
  const resolved = losses.resolve(name, options, lossWhere);
  const loss = losses.get(name).create(resolved, undefined);
  if (!loss.accepts.includes(kind)) {
    throw new Error(
      `${lossWhere}: loss '${name}' does not fit ${kind} group '${groupName}' (it takes ${loss.accepts.join(', ')} outputs); ` +
        `losses for ${kind}: ${lossNamesFor(kind).join(', ')}`,
    );
  }
  return { lossConfig: { name, ...resolved }, loss, weight: configured?.weight ?? 1 };
}

function buildObjective(span: GroupSpan, configured: GroupObjectiveConfig | undefined, where: string): GroupObjective {
  return { span, ...resolveGroupLoss(span.group.name, outputKind(span.group), defaultLoss(span.group), configured, where) };
}

function assertInputs(schema: LabelSchema, logits: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor | undefined, where: string): void {
  const rows = logits.shape.slice(0, -1);
  if (logits.rank < 2 || logits.rank > 3) {
    throw new Error(`${where}: logits must be [batch, width] or [batch, slices, width], got [${logits.shape}]`);
  }
  if (logits.shape[logits.rank - 1] !== totalOutputWidth(schema)) {
    throw new Error(`${where}: logits are ${logits.shape[logits.rank - 1]} wide but the label schema has ${totalOutputWidth(schema)} outputs`);
  }
  if (targets.rank !== logits.rank || !tf.util.arraysEqual(targets.shape.slice(0, -1), rows)) {
    throw new Error(`${where}: targets [${targets.shape}] must have the logits' leading dimensions [${rows}]`);
  }
  if (targets.shape[targets.rank - 1] !== totalTargetWidth(schema)) {
    throw new Error(`${where}: targets are ${targets.shape[targets.rank - 1]} wide but the label schema has ${totalTargetWidth(schema)} target columns`);
  }
  if (mask && (mask.rank < 1 || mask.rank > rows.length || !tf.util.arraysEqual(mask.shape, rows.slice(0, mask.rank)))) {
    throw new Error(`${where}: mask [${mask.shape}] must be per row [${rows}] or per sample [${rows[0]}]`);
  }
}

/** Slices `width` columns from `offset` on the last axis (all of them: the tensor itself, no slice op). */
function columns(tensor: tf.Tensor, offset: number, width: number): tf.Tensor {
  if (offset === 0 && width === tensor.shape[tensor.rank - 1]) return tensor;
  const begin = tensor.shape.map((_, axis) => (axis === tensor.rank - 1 ? offset : 0));
  const size = tensor.shape.map((extent, axis) => (axis === tensor.rank - 1 ? width : extent));
  return tf.slice(tensor, begin, size);
}

/** The training objective of a label schema: each group's loss on its span of the flat rows, weighted and summed. */
export function buildCriterion(schema: LabelSchema, config: CriterionConfig = {}, where = 'criterion'): Criterion {
  const parsed = parseOrThrow(criterionConfigSchema, config, where);
  const spans = groupSpans(schema);
  const known = spans.map((span) => span.group.name);
  for (const key of Object.keys(parsed.groups)) {
    if (!known.includes(key)) throw new Error(`${where}.groups: unknown group '${key}'; the label schema has: ${known.join(', ')}`);
  }
  const objectives = spans.map((span) => buildObjective(span, parsed.groups[span.group.name], where));

  const criterion = (logits: tf.Tensor, targets: tf.Tensor, mask?: tf.Tensor): CriterionResult => {
    assertInputs(schema, logits, targets, mask, where);
    return tf.tidy(() => {
      const perGroup: Record<string, tf.Scalar> = {};
      const weighted = objectives.map(({ span, loss, weight }) => {
        const { group } = span;
        const groupLogits = columns(logits, span.outputOffset, outputWidth(group));
        const groupTargets = columns(targets, span.targetOffset, targetWidth(group));
        const value = loss.compute(groupLogits, groupTargets, mask);
        perGroup[group.name] = value;
        // A weight of 1 multiplies exactly: a copy (no TF op) keeps total a tensor of its own.
        return weight === 1 ? tf.clone(value) : tf.mul(value, weight);
      });
      return { total: (weighted.length === 1 ? weighted[0] : tf.addN(weighted)) as tf.Scalar, perGroup };
    });
  };
  return Object.assign(criterion, { objectives });
}
