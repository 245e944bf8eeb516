import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/select.ts';
const threads = Number(process.argv[2] ?? 2);
await initBackend('tensorflow', { threads });
const x = tf.randomNormal([14, 32, 32, 16]);
const spin = (ms: number) => { const t = performance.now(); while (performance.now() - t < ms); };
for (const gap of [0, 0.05, 0.2, 1, 3]) {
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    spin(gap);
    const t = performance.now();
    const y = tf.relu(x); y.dataSync; y.dispose();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`threads ${threads} gap ${gap} ms: median ${times[100].toFixed(3)} p90 ${times[180].toFixed(3)} ms`);
}
