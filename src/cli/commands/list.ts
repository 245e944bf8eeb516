import type { Command } from 'commander';
import { componentFamilies, componentFamily, formatCatalog } from '../../experiments/catalog.ts';

export function registerList(program: Command): void {
  program
    .command('list')
    .argument('[family]', `one family: ${componentFamilies.map((family) => family.family).join(', ')}`)
    .description('every registered component (backbones, encoders, decoders, heads, losses, transforms, datasets, metrics, schedules …) with its description and defaults')
    .option('--json', 'as JSON: per family, each component with its description and defaults')
    .action((family: string | undefined, options: { json?: boolean }) => {
      const families = family ? [componentFamily(family)] : componentFamilies;
      if (options.json) {
        const listing = Object.fromEntries(
          families.map(({ family: name, where, registry }) => [name, { where, components: registry.list().map(({ name: component, description, defaults }) => ({ name: component, description, defaults })) }]),
        );
        process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
      } else process.stdout.write(formatCatalog(families));
    });
}
