import { testBackends } from './helpers/backend.ts';

/** Prints, once per `vitest run`, which backends the backend-parametrised tests cover on this machine. */
export default function setup(): void {
  const missing = testBackends.some((backend) => backend.startsWith('tensorflow')) ? '' : ' (native not built: `npm run native` adds it)';
  process.stdout.write(`sliceseq tests: backend-parametrised tests run on ${testBackends.join(' and ')}${missing}; other tests on ${process.env.SLICESEQ_TEST_BACKEND || testBackends[0]}\n`);
}
