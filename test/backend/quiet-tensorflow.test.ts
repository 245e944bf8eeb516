import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quietTensorFlowLogs } from '../../src/backend/select.ts';
import { testBackends } from '../helpers/backend.ts';

describe('quietTensorFlowLogs', () => {
  it('keeps libtensorflow to warnings and errors unless debug logs are asked for or the user chose a level', () => {
    const normal: NodeJS.ProcessEnv = {};
    quietTensorFlowLogs(normal, 'info');
    expect(normal.TF_CPP_MIN_LOG_LEVEL).toBe('2');
    const debug: NodeJS.ProcessEnv = {};
    quietTensorFlowLogs(debug, 'debug');
    expect(debug.TF_CPP_MIN_LOG_LEVEL).toBeUndefined();
    const chosen: NodeJS.ProcessEnv = { TF_CPP_MIN_LOG_LEVEL: '0' };
    quietTensorFlowLogs(chosen, 'warn');
    expect(chosen.TF_CPP_MIN_LOG_LEVEL).toBe('0');
  });
});

// A process that loads the native backend and runs a convolution, as every command does; stderr is what a user sees.
const script = `
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './src/backend/select.ts';
await initBackend('tensorflow', { quiet: true });
tf.tidy(() => tf.conv2d(tf.ones([1, 8, 8, 3]), tf.ones([3, 3, 3, 4]), 1, 'same').dataSync());
process.stdout.write(tf.getBackend());
`;
const banner = /absl::InitializeLog|cpu_feature_guard|oneDNN|^[IW]\d{4} /m;

function loadNative(extraEnv: Record<string, string>): { stdout: string; stderr: string } {
  const env = { ...process.env, ...extraEnv };
  delete env.TF_CPP_MIN_LOG_LEVEL;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env, timeout: 60_000 });
  return { stdout: result.stdout, stderr: result.stderr };
}

describe.skipIf(!testBackends.includes('tensorflow'))('loading libtensorflow (native backend)', () => {
  it('prints no absl, CPU-feature or oneDNN lines on stderr', () => {
    const { stdout, stderr } = loadNative({ SLICESEQ_LOG: 'info' });
    expect(stdout).toBe('tensorflow');
    expect(stderr).not.toMatch(banner);
  });

  it('shows its banners with SLICESEQ_LOG=debug', () => {
    const { stdout, stderr } = loadNative({ SLICESEQ_LOG: 'debug' });
    expect(stdout).toBe('tensorflow');
    expect(stderr).toMatch(banner);
  });
});
