import { Registry } from '../core/registry.ts';
import { asl } from './asl.ts';
import { bce } from './bce.ts';
import { categoricalCe } from './categorical-ce.ts';
import { cumulativeBce } from './cumulative-bce.ts';
import { focal } from './focal.ts';
import { mae } from './mae.ts';
import { mse } from './mse.ts';
import type { Loss, LossConfig } from './types.ts';

/** Every loss by name; options are validated strictly by each entry's zod schema. */
export const losses = new Registry<void, Loss>('loss');
losses.register(asl);
losses.register(focal);
losses.register(bce);
losses.register(categoricalCe);
losses.register(mse);
losses.register(mae);
losses.register(cumulativeBce);

/** Builds a loss from `{ name, ...options }`; `where` names the config location in errors. */
export function createLoss(config: LossConfig, where = 'loss'): Loss {
  return losses.create(config, undefined, where);
}
