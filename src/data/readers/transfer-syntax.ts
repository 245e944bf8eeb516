import { hasFrameDecoder } from './dicom-codecs.ts';

/** The DICOM transfer syntaxes we recognise, and whether our reader decodes their pixel data. */
export interface TransferSyntax {
  uid: string;
  name: string;
  /** Native (uncompressed) pixel data, decoded by the reader itself. */
  native: boolean;
  /** Native, or compressed with a codec available (dicom-codecs.ts). */
  decodable: boolean;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

const known: Array<Omit<TransferSyntax, 'decodable'>> = [
  { uid: IMPLICIT_VR_LITTLE_ENDIAN, name: 'Implicit VR Little Endian', native: true },
  { uid: EXPLICIT_VR_LITTLE_ENDIAN, name: 'Explicit VR Little Endian', native: true },
  { uid: DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, name: 'Deflated Explicit VR Little Endian', native: true },
  { uid: EXPLICIT_VR_BIG_ENDIAN, name: 'Explicit VR Big Endian', native: true },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline (Process 1)', native: false },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)', native: false },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless, Non-Hierarchical (Process 14)', native: false },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction', native: false },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', native: false },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Lossy (Near-Lossless)', native: false },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 (Lossless Only)', native: false },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000', native: false },
  { uid: '1.2.840.10008.1.2.4.201', name: 'High-Throughput JPEG 2000 (Lossless Only)', native: false },
  { uid: '1.2.840.10008.1.2.4.202', name: 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)', native: false },
  { uid: '1.2.840.10008.1.2.4.203', name: 'High-Throughput JPEG 2000', native: false },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', native: false },
];

const byUid = new Map(known.map((syntax): [string, TransferSyntax] => [syntax.uid, { ...syntax, decodable: syntax.native || hasFrameDecoder(syntax.uid) }]));

/** Looks a UID up; an unknown UID is reported as not decodable (we cannot know its pixel encoding). */
export function transferSyntax(uid: string): TransferSyntax {
  return byUid.get(uid) ?? { uid, name: 'unknown transfer syntax', native: false, decodable: false };
}
