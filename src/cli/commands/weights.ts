import { Option, type Command } from 'commander';
import { normalizations, type Normalization } from '../../models/pretrained/normalization.ts';
import { weightFormats, type WeightFormat } from '../../models/pretrained/source.ts';
import type { WeightsOption } from '../../models/pretrained/open.ts';
import { wholeNumber } from '../options.ts';

interface WeightsFlags {
  format?: WeightFormat;
  backbone?: string;
  json?: boolean;
  out?: string;
  normalize?: Normalization;
  channels: number;
}

function option(file: string, flags: WeightsFlags): WeightsOption {
  return flags.format ? { path: file, format: flags.format } : file;
}

const formatOption = () => new Option('--format <format>', 'the file format, where the extension does not tell it').choices(weightFormats);

/** `sliceseq weights inspect FILE` and `sliceseq weights convert FILE --backbone NAME --out DIR`. */
export function registerWeights(program: Command): void {
  const weights = program.command('weights').description('pretrained weight files (Keras .h5/.keras, safetensors, tfjs folders): inspect, convert');
  weights
    .command('inspect')
    .description('list the layers and tensors in a weight file and how they map onto each backbone (unused and missing layers called out)')
    .argument('<file>', 'a .h5, .keras or .safetensors file, or a tfjs model folder')
    .addOption(formatOption())
    .option('--backbone <name>', 'only this backbone (vgg16, resnet18)')
    .option('--json', 'print JSON')
    .action(async (file: string, flags: WeightsFlags) => {
      const { initBackend } = await import('../../backend/select.ts');
      const { formatInspection, inspectWeights } = await import('../../models/weights.ts');
      await initBackend('auto', { quiet: true });
      const report = inspectWeights(option(file, flags), { backbone: flags.backbone });
      process.stdout.write(`${flags.json ? JSON.stringify(report, null, 2) : formatInspection(report)}\n`);
      if (report.fits.every((fit) => fit.error)) process.exitCode = 1;
    });
  weights
    .command('convert')
    .description('load a weight file into a backbone and write it as a tfjs model folder (a misfit names the first layer and both shapes)')
    .argument('<file>', 'a .h5, .keras or .safetensors file, or a tfjs model folder')
    .requiredOption('--backbone <name>', 'vgg16 or resnet18')
    .requiredOption('--out <dir>', 'the folder to write (model.json + weights.bin)')
    .addOption(formatOption())
    .addOption(new Option('--normalize <name>', 'record another input normalisation than the format implies').choices([...normalizations]))
    .option('--channels <n>', 'input channels of the converted backbone (a 3-channel first layer is summed for 1, repeated for more)', wholeNumber('--channels', 1), 3)
    .action(async (file: string, flags: WeightsFlags) => {
      const channels = flags.channels;
      const { initBackend } = await import('../../backend/select.ts');
      const { convertWeights } = await import('../../models/weights.ts');
      await initBackend('auto', { quiet: true });
      const recorded = await convertWeights(option(file, flags), {
        backbone: flags.backbone!,
        out: flags.out!,
        normalize: flags.normalize,
        imageShape: { height: 224, width: 224, channels },
      });
      process.stdout.write(`${flags.out}: ${recorded.backbone} from ${recorded.source} (${recorded.format}), input normalisation '${recorded.normalize}'\n`);
    });
}
