import { EXPLICIT_VR_LITTLE_ENDIAN } from '../readers/transfer-syntax.ts';

/**
 * A small Part-10 DICOM writer for the demo phantom: Explicit VR Little Endian, the handful of VRs a CT slice
 * needs. Not a general encoder (no sequences, no other transfer syntaxes).
 */
export type WritableVr = 'UI' | 'CS' | 'DS' | 'IS' | 'LO' | 'SH' | 'PN' | 'DA' | 'TM' | 'US' | 'UL' | 'OB' | 'OW';

export interface DicomElementValue {
  /** (group << 16) | element, e.g. 0x00280010 for Rows. */
  tag: number;
  vr: WritableVr;
  /** Strings (several values joined by backslash), numbers, or raw bytes for OB/OW. */
  value: string | number | ReadonlyArray<string | number> | Uint8Array;
}

/** Our implementation's UID (UUID-derived, under the 2.25 root) and name, written into the file meta. */
const IMPLEMENTATION_CLASS_UID = '2.25.196543710939285137540618264170291874651';
const IMPLEMENTATION_VERSION = 'SLICESEQ_DEMO';
const LONG_LENGTH_VRS = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);
const DS_MAX_LENGTH = 16;

/** A DS value: shortest decimal text of at most 16 characters, as the standard requires. */
export function formatDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`DS value must be finite, got ${value}`);
  for (let digits = 10; digits >= 1; digits--) {
    const text = String(Number(value.toPrecision(digits)));
    if (text.length <= DS_MAX_LENGTH) return text;
  }
  throw new Error(`DS value ${value} does not fit 16 characters`);
}

function valueBytes({ vr, value }: DicomElementValue): Uint8Array {
  if (value instanceof Uint8Array) return padEven(value, 0);
  const values = Array.isArray(value) ? value : [value];
  switch (vr) {
    case 'US':
    case 'UL': {
      const size = vr === 'US' ? 2 : 4;
      const out = new Uint8Array(values.length * size);
      const view = new DataView(out.buffer);
      values.forEach((v, i) => (size === 2 ? view.setUint16(i * 2, Number(v), true) : view.setUint32(i * 4, Number(v), true)));
      return out;
    }
    case 'OB':
    case 'OW':
      throw new Error(`${vr} values must be bytes`);
    default: {
      const text = values.map((v) => (vr === 'DS' && typeof v === 'number' ? formatDecimalString(v) : String(v))).join('\\');
      // UIDs pad with NUL, every other string VR with a space.
      return padEven(new TextEncoder().encode(text), vr === 'UI' ? 0 : 0x20);
    }
  }
}

function padEven(bytes: Uint8Array, pad: number): Uint8Array {
  if (bytes.length % 2 === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = pad;
  return out;
}

function encodeElement(element: DicomElementValue): Uint8Array {
  const body = valueBytes(element);
  const long = LONG_LENGTH_VRS.has(element.vr);
  const headerLength = long ? 12 : 8;
  if (!long && body.length > 0xffff) throw new Error(`value of ${element.vr} tag ${element.tag.toString(16)} too long`);
  const out = new Uint8Array(headerLength + body.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, element.tag >>> 16, true);
  view.setUint16(2, element.tag & 0xffff, true);
  out[4] = element.vr.charCodeAt(0);
  out[5] = element.vr.charCodeAt(1);
  if (long) view.setUint32(8, body.length, true);
  else view.setUint16(6, body.length, true);
  out.set(body, headerLength);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Encodes a Part-10 file: 128-byte preamble, "DICM", the file meta group (with its group length), then the
 * dataset elements in ascending tag order.
 */
export function encodeDicomFile(sopClassUid: string, sopInstanceUid: string, elements: readonly DicomElementValue[]): Uint8Array {
  const metaElements = [
    encodeElement({ tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) }),
    encodeElement({ tag: 0x00020002, vr: 'UI', value: sopClassUid }),
    encodeElement({ tag: 0x00020003, vr: 'UI', value: sopInstanceUid }),
    encodeElement({ tag: 0x00020010, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN }),
    encodeElement({ tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID }),
    encodeElement({ tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION }),
  ];
  const metaLength = metaElements.reduce((sum, part) => sum + part.length, 0);
  const groupLength = encodeElement({ tag: 0x00020000, vr: 'UL', value: metaLength });
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].tag === sorted[i - 1].tag) throw new Error(`duplicate tag ${sorted[i].tag.toString(16)}`);
  }
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return concat([preamble, groupLength, ...metaElements, ...sorted.map(encodeElement)]);
}
