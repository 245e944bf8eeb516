import { readFileSync } from 'node:fs';

/**
 * An independent RSNA scorer for tests, written from the competition's definition rather than sliceseq's code:
 * mean over images of F2 at 0.5 (a row with no true and no predicted label scores 1), per Usage split.
 */
export const RSNA_CLASSES = ['epidural', 'intraparenchymal', 'intraventricular', 'subarachnoid', 'subdural', 'any'];

function splitKey(key: string): { image: string; cls: string } {
  const cls = RSNA_CLASSES.find((name) => key.endsWith(`_${name}`))!;
  return { image: key.slice(0, key.length - cls.length - 1), cls };
}

/** `ID,Label,Usage` → per image: labels by class, and its Usage. */
export function readRsnaSolution(file: string): { truth: Map<string, Map<string, number>>; usage: Map<string, string> } {
  const truth = new Map<string, Map<string, number>>();
  const usage = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
    const [key, label, use] = line.split(',');
    const { image, cls } = splitKey(key);
    if (!truth.has(image)) truth.set(image, new Map());
    truth.get(image)!.set(cls, Number(label));
    usage.set(image, use);
  }
  return { truth, usage };
}

/** Public and Private mean F2 of an `ID,Label` submission's text against a solution file. */
export function rsnaF2(submission: string, solutionFile: string): { public: number; private: number } {
  const { truth, usage } = readRsnaSolution(solutionFile);
  const submitted = new Map(submission.trim().split('\n').slice(1).map((line) => [line.split(',')[0], Number(line.split(',')[1])]));
  const meanF2 = (images: string[]) => {
    const scores = images.map((image) => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (const cls of RSNA_CLASSES) {
        const predicted = submitted.get(`${image}_${cls}`)! >= 0.5;
        const actual = truth.get(image)!.get(cls) === 1;
        if (predicted && actual) tp++;
        else if (predicted) fp++;
        else if (actual) fn++;
      }
      return tp + fp + fn === 0 ? 1 : (5 * tp) / (5 * tp + 4 * fn + fp);
    });
    return scores.reduce((a, b) => a + b, 0) / scores.length;
  };
  const images = [...truth.keys()];
  return { public: meanF2(images.filter((i) => usage.get(i) === 'Public')), private: meanF2(images.filter((i) => usage.get(i) === 'Private')) };
}
