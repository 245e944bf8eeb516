import { checkOrder, compareNames, orderSlices, type OrderCheck, type Patient, type SliceRef } from '../patients.ts';
import { slicesOf, type ScannedFile, type ScannedSlice } from './scan.ts';
import type { MissingRescale } from '../readers/dicom.ts';
import type { BadInput } from './types.ts';

/** Orders one patient's slices by the rule in patients.ts (position → instance → name, frame within a file). */
export function orderScanned<T extends ScannedSlice>(slices: readonly T[]): { ordered: T[]; check: OrderCheck } {
  const orderable = slices.map((slice) => ({
    name: slice.frame === undefined ? slice.path : `${slice.path}#${slice.frame}`,
    meta: slice.meta,
  }));
  const { order, rule } = orderSlices(orderable);
  return { ordered: order.map((i) => slices[i]), check: checkOrder(order.map((i) => orderable[i]), rule) };
}

/** Reports each unreadable file and returns the slices of the readable ones. */
export function readableSlices(files: readonly ScannedFile[], bad: BadInput): ScannedSlice[] {
  return files.flatMap((file) => {
    if (file.error === undefined) return slicesOf(file);
    bad.report({ file: file.path, reason: `unreadable: ${file.error}` });
    return [];
  });
}

/** The reference a patient keeps to one slice; `id` is the dataset's own name for it (`#frame` is added within a volume). */
export function sliceRef(slice: ScannedSlice, id?: string, missingRescale: MissingRescale = 'refuse'): SliceRef {
  const ref: SliceRef = slice.frame === undefined ? { path: slice.path } : { path: slice.path, frame: slice.frame };
  if (id !== undefined) ref.id = slice.frame === undefined ? id : `${id}#${slice.frame}`;
  // Only a rule other than the reader's default travels with the slice (to the decode workers).
  if (missingRescale !== 'refuse') ref.missingRescale = missingRescale;
  return ref;
}

/** Patients in a stable order, whatever order the files were listed in. */
export function sortPatients(patients: Patient[]): Patient[] {
  return patients.sort((a, b) => compareNames(a.id, b.id));
}
