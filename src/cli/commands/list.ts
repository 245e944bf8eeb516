import type { Command } from 'commander';

export function registerList(program: Command): void {
  program
    .command('list')
    .argument('[family]', 'one family (backbones, encoders, decoders, heads, losses, transforms, datasets, metrics, schedules …; `sliceseq list` names them all)')
    .description('every registered component (backbones, encoders, decoders, heads, losses, transforms, datasets, metrics, schedules …) with its description and defaults')
    .option('--json', 'as JSON: per family, each component with its description and defaults')
    .action(async (family: string | undefined, options: { json?: boolean }) => {
      // Loaded here, not at the top: the registries load zod and every component, which `--help` does not need.
      const { componentFamilies, componentFamily, formatCatalog } = await import('../../experiments/catalog.ts');
      const families = family ? [componentFamily(family)] : componentFamilies;
      if (options.json) {
        const listing = Object.fromEntries(
          families.map(({ family: name, where, registry }) => [name, { where, components: registry.list().map(({ name: component, description, defaults }) => ({ name: component, description, defaults })) }]),
        );
        process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
      } else process.stdout.write(formatCatalog(families));
    });
}
