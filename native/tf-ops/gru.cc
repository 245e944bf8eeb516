// The GRU sequence ops: SliceseqGRU runs a whole sequence forward, SliceseqGRUGrad its whole backward pass, each
// in one TensorFlow op instead of a dozen per step. The recurrence, the gate factors and what is saved are
// src/backend/gru.ts's (its fused kernels document the formulas; their TF-ops code is the twin these ops are
// tested against). Per element the arithmetic is in the twin's order; the products sum over their inner index in
// order, one float32 rounding per term (TF's MatMul blocks its sums differently: the two agree within float32
// rounding, not bitwise).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tf_op.h"

namespace sliceseq {
namespace {

// out[rows, cols] = a · w[inner, cols], where a's element (row i, inner k) is a[i·rowStride + k·innerStride] (a
// [rows, inner]: strides inner and 1; its transpose: 1 and rows), each element summed over k in order. A tile of
// 4 rows × 16 columns is summed in locals the compiler keeps in vector registers (8 of AVX2's 16), reading 4
// values of a and 16 of w's row k per k; the columns past the last whole tile, and the rows past the last 4, run
// along out's rows.
constexpr int64_t kTileRows = 4, kTileCols = 16;

SLICESEQ_VECTOR_CLONES
void product(const float *a, int64_t rowStride, int64_t innerStride, int64_t rows, int64_t inner, const float *w, int64_t cols, float *out) {
  const int64_t tiledRows = rows - rows % kTileRows, tiledCols = cols - cols % kTileCols;
  for (int64_t i = 0; i < tiledRows; i += kTileRows) {
    const float *a0 = a + i * rowStride, *a1 = a0 + rowStride, *a2 = a1 + rowStride, *a3 = a2 + rowStride;
    for (int64_t j = 0; j < tiledCols; j += kTileCols) {
      float t0[kTileCols] = {}, t1[kTileCols] = {}, t2[kTileCols] = {}, t3[kTileCols] = {};
      for (int64_t k = 0; k < inner; k++) {
        const float *wk = w + k * cols + j;
        const float s0 = a0[k * innerStride], s1 = a1[k * innerStride], s2 = a2[k * innerStride], s3 = a3[k * innerStride];
        for (int64_t c = 0; c < kTileCols; c++) {
          const float v = wk[c];
          t0[c] += s0 * v;
          t1[c] += s1 * v;
          t2[c] += s2 * v;
          t3[c] += s3 * v;
        }
      }
      float *o = out + i * cols + j;
      std::copy(t0, t0 + kTileCols, o);
      std::copy(t1, t1 + kTileCols, o + cols);
      std::copy(t2, t2 + kTileCols, o + 2 * cols);
      std::copy(t3, t3 + kTileCols, o + 3 * cols);
    }
  }
  // What the tiles left: the last columns of the tiled rows, and every column of the last rows.
  for (int64_t i = 0; i < rows; i++) {
    const int64_t from = i < tiledRows ? tiledCols : 0;
    float *__restrict o = out + i * cols;
    std::fill(o + from, o + cols, 0.0f);
    for (int64_t k = 0; k < inner; k++) {
      const float s = a[i * rowStride + k * innerStride];
      const float *__restrict wk = w + k * cols;
      for (int64_t j = from; j < cols; j++) o[j] += s * wk[j];
    }
  }
}

inline float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

struct GruAttrs {
  bool reverse;
};

void *createGru(TF_OpKernelConstruction *construction) {
  Attrs read(construction);
  return new GruAttrs{read.boolean("reverse")};
}

std::string shapeText(const Input &t) {
  std::string text = "[";
  for (int i = 0; i < t.rank(); i++) text += (i ? ", " : "") + std::to_string(t.dim(i));
  return text + "]";
}

bool hasShape(const Input &t, std::initializer_list<int64_t> dims) {
  if (t.rank() != static_cast<int>(dims.size())) return false;
  int i = 0;
  for (int64_t d : dims)
    if (t.dim(i++) != d) return false;
  return true;
}

// The sizes both ops read off x [T, Bx, 3H] and h0 [B, H], with u [H, 3H] and mask [T, B] (1 real, 0 padded)
// checked against them; false after failing the call with a message naming the op and the input.
struct Sizes {
  int64_t steps, inputBatch, batch, hidden;
  int64_t gates() const { return 3 * hidden; }
};

bool readSizes(TF_OpKernelContext *ctx, const char *op, const Input &x, const Input &h0, const Input &u, const Input &mask, Sizes &s) {
  if (h0.rank() != 2) return fail(ctx, std::string(op) + ": h0 must be [batch, hidden], got " + shapeText(h0)), false;
  s.batch = h0.dim(0);
  s.hidden = h0.dim(1);
  if (x.rank() != 3 || (x.dim(1) != s.batch && x.dim(1) != 1) || x.dim(2) != s.gates()) {
    return fail(ctx, std::string(op) + ": x must be [steps, " + std::to_string(s.batch) + " or 1, " + std::to_string(s.gates()) + "], got " + shapeText(x)), false;
  }
  s.steps = x.dim(0);
  s.inputBatch = x.dim(1);
  if (!hasShape(u, {s.hidden, s.gates()})) {
    return fail(ctx, std::string(op) + ": u must be [" + std::to_string(s.hidden) + ", " + std::to_string(s.gates()) + "], got " + shapeText(u)), false;
  }
  if (!hasShape(mask, {s.steps, s.batch})) {
    return fail(ctx, std::string(op) + ": mask must be [" + std::to_string(s.steps) + ", " + std::to_string(s.batch) + "], got " + shapeText(mask)), false;
  }
  for (int64_t i = 0; i < mask.size(); i++) {
    if (mask.data()[i] != 0.0f && mask.data()[i] != 1.0f) return fail(ctx, std::string(op) + ": mask holds " + std::to_string(mask.data()[i]) + " at " + std::to_string(i) + "; only 1 (real) and 0 (padded)"), false;
  }
  return true;
}

// Whether step t has a real row (a step without one is skipped).
bool hasRealRow(const Input &mask, const Sizes &s, int64_t t) {
  for (int64_t b = 0; b < s.batch; b++)
    if (mask.data()[t * s.batch + b] != 0.0f) return true;
  return false;
}

// SliceseqGRU: inputs x [T, Bx, 3H] (projected inputs, gate columns r z n; Bx = 1 broadcasts), h0 [B, H],
// u [H, 3H], b [3H], mask [T, B]; attr reverse. Outputs states [T, B, H], final [B, H], r, z, n, gn [T, B, H].
// A step with no real row is skipped (its state carried, its saved gates 0); padded rows of a step keep theirs.
void gruCompute(void *kernel, TF_OpKernelContext *ctx) {
  const bool reverse = static_cast<GruAttrs *>(kernel)->reverse;
  Input x(ctx, 0), h0(ctx, 1), u(ctx, 2), bias(ctx, 3), mask(ctx, 4);
  if (!x.ok() || !h0.ok() || !u.ok() || !bias.ok() || !mask.ok()) return;
  Sizes s;
  if (!readSizes(ctx, "SliceseqGRU", x, h0, u, mask, s)) return;
  if (!hasShape(bias, {s.gates()})) return fail(ctx, "SliceseqGRU: b must be [" + std::to_string(s.gates()) + "], got " + shapeText(bias));
  const int64_t T = s.steps, B = s.batch, H = s.hidden, G = s.gates();
  const std::vector<int64_t> perStep = {T, B, H};
  Output states(ctx, 0, perStep), final(ctx, 1, {B, H}), rOut(ctx, 2, perStep), zOut(ctx, 3, perStep), nOut(ctx, 4, perStep), gnOut(ctx, 5, perStep);
  if (!states.ok() || !final.ok() || !rOut.ok() || !zOut.ok() || !nOut.ok() || !gnOut.ok()) return;

  std::vector<float> h(h0.data(), h0.data() + B * H), g(B * G);
  for (int64_t k = 0; k < T; k++) {
    const int64_t t = reverse ? T - 1 - k : k;
    const int64_t at = t * B * H;
    if (!hasRealRow(mask, s, t)) {
      std::copy(h.begin(), h.end(), states.data() + at);
      for (float *saved : {rOut.data(), zOut.data(), nOut.data(), gnOut.data()}) std::fill(saved + at, saved + at + B * H, 0.0f);
      continue;
    }
    product(h.data(), H, 1, B, H, u.data(), G, g.data());
    for (int64_t b = 0; b < B; b++) {
      float *gb = g.data() + b * G;
      for (int64_t j = 0; j < G; j++) gb[j] += bias.data()[j];
      const float *xb = x.data() + (t * s.inputBatch + (s.inputBatch == 1 ? 0 : b)) * G;
      const bool real = mask.data()[t * B + b] != 0.0f;
      float *hb = h.data() + b * H;
      const int64_t row = at + b * H;
      for (int64_t j = 0; j < H; j++) {
        const float r = sigmoid(xb[j] + gb[j]);
        const float z = sigmoid(xb[H + j] + gb[H + j]);
        const float gn = gb[2 * H + j];
        const float n = std::tanh(xb[2 * H + j] + r * gn);
        const float next = n + z * (hb[j] - n);
        if (real) hb[j] = next;
        rOut.data()[row + j] = r;
        zOut.data()[row + j] = z;
        nOut.data()[row + j] = n;
        gnOut.data()[row + j] = gn;
      }
    }
    std::copy(h.begin(), h.end(), states.data() + at);
  }
  std::copy(h.begin(), h.end(), final.data());
}

// SliceseqGRUGrad: inputs x, h0, u, mask (as SliceseqGRU), states, r, z, n, gn (its outputs), d_states [T, B, H],
// d_final [B, H]; attr reverse. Outputs dx [T, Bx, 3H] (summed over the batch where x broadcast), dh0 [B, H],
// du [H, 3H], db [3H]. Last processed step first, with dNext = m·dh the gradient reaching a step's new state:
//   dGate = dNext·[Cr | Bz | Cn·r], dx_t = dNext·[Cr | Bz | Cn], dh ← dNext·z + dGate·Uᵀ (padded rows: dh kept),
// Cn = (1 − z)(1 − n²), Bz = (h − n)·z(1 − z), Cr = Cn·gn·r(1 − r); then du = Σ hPrevᵀ·dGate, db = Σ dGate.
void gruGradCompute(void *kernel, TF_OpKernelContext *ctx) {
  const bool reverse = static_cast<GruAttrs *>(kernel)->reverse;
  Input x(ctx, 0), h0(ctx, 1), u(ctx, 2), mask(ctx, 3), states(ctx, 4), rIn(ctx, 5), zIn(ctx, 6), nIn(ctx, 7), gnIn(ctx, 8), dStates(ctx, 9), dFinal(ctx, 10);
  for (const Input *in : {&x, &h0, &u, &mask, &states, &rIn, &zIn, &nIn, &gnIn, &dStates, &dFinal})
    if (!in->ok()) return;
  Sizes s;
  if (!readSizes(ctx, "SliceseqGRUGrad", x, h0, u, mask, s)) return;
  const int64_t T = s.steps, B = s.batch, H = s.hidden, G = s.gates();
  const char *names[] = {"states", "r", "z", "n", "gn", "d_states"};
  const Input *perStepInputs[] = {&states, &rIn, &zIn, &nIn, &gnIn, &dStates};
  for (int i = 0; i < 6; i++) {
    if (!hasShape(*perStepInputs[i], {T, B, H})) {
      return fail(ctx, std::string("SliceseqGRUGrad: ") + names[i] + " must be [" + std::to_string(T) + ", " + std::to_string(B) + ", " + std::to_string(H) + "], got " + shapeText(*perStepInputs[i]));
    }
  }
  if (!hasShape(dFinal, {B, H})) return fail(ctx, "SliceseqGRUGrad: d_final must be [" + std::to_string(B) + ", " + std::to_string(H) + "], got " + shapeText(dFinal));
  Output dx(ctx, 0, x.dims()), dh0(ctx, 1, {B, H}), du(ctx, 2, {H, G}), db(ctx, 3, {G});
  if (!dx.ok() || !dh0.ok() || !du.ok() || !db.ok()) return;
  std::fill(dx.data(), dx.data() + x.size(), 0.0f);
  std::fill(db.data(), db.data() + G, 0.0f);

  // uᵀ [3H, H], so that dGate·uᵀ runs along rows like the forward product.
  std::vector<float> ut(G * H);
  for (int64_t k = 0; k < H; k++)
    for (int64_t j = 0; j < G; j++) ut[j * H + k] = u.data()[k * G + j];
  // Every run step's dGate rows and the states they started from, for du and db at the end.
  std::vector<float> dGates, previous;
  dGates.reserve(T * B * G);
  previous.reserve(T * B * H);
  std::vector<float> dh(dFinal.data(), dFinal.data() + B * H), dNext(B * H), through(B * H);
  for (int64_t k = 0; k < T; k++) {
    const int64_t t = reverse ? k : T - 1 - k;
    const int64_t at = t * B * H;
    for (int64_t i = 0; i < B * H; i++) dh[i] += dStates.data()[at + i];
    if (!hasRealRow(mask, s, t)) continue;
    const int64_t before = reverse ? t + 1 : t - 1;
    const float *hPrev = before >= 0 && before < T ? states.data() + before * B * H : h0.data();
    const size_t rows = dGates.size();
    dGates.resize(rows + B * G);
    float *dGate = dGates.data() + rows;
    for (int64_t b = 0; b < B; b++) {
      const float m = mask.data()[t * B + b];
      const int64_t row = at + b * H;
      const float *r = rIn.data() + row, *z = zIn.data() + row, *n = nIn.data() + row, *gn = gnIn.data() + row, *hp = hPrev + b * H;
      float *dg = dGate + b * G, *dxb = dx.data() + (t * s.inputBatch + (s.inputBatch == 1 ? 0 : b)) * G;
      for (int64_t j = 0; j < H; j++) {
        const float d = m * dh[b * H + j];
        const float oneMinusZ = 1.0f - z[j];
        const float cn = oneMinusZ * (1.0f - n[j] * n[j]);
        const float bz = (hp[j] - n[j]) * (z[j] * oneMinusZ);
        const float cr = (cn * gn[j]) * (r[j] * (1.0f - r[j]));
        dNext[b * H + j] = d;
        dg[j] = d * cr;
        dg[H + j] = d * bz;
        dg[2 * H + j] = d * (cn * r[j]);
        dxb[j] += d * cr;
        dxb[H + j] += d * bz;
        dxb[2 * H + j] += d * cn;
      }
    }
    previous.insert(previous.end(), hPrev, hPrev + B * H);
    product(dGate, G, 1, B, G, ut.data(), H, through.data());
    for (int64_t b = 0; b < B; b++) {
      if (mask.data()[t * B + b] == 0.0f) continue;
      const float *z = zIn.data() + at + b * H;
      for (int64_t j = 0; j < H; j++) dh[b * H + j] = dNext[b * H + j] * z[j] + through[b * H + j];
    }
  }
  std::copy(dh.begin(), dh.end(), dh0.data());
  const int64_t rows = static_cast<int64_t>(dGates.size()) / G;
  product(previous.data(), 1, H, H, rows, dGates.data(), G, du.data());
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < G; j++) db.data()[j] += dGates[i * G + j];
}

}  // namespace

std::vector<OpSpec> gruOps() {
  return {
      {"SliceseqGRU",
       {"x: float", "h0: float", "u: float", "b: float", "mask: float"},
       {"states: float", "final: float", "r: float", "z: float", "n: float", "gn: float"},
       {"reverse: bool"},
       gruCompute,
       createGru,
       destroy<GruAttrs>},
      {"SliceseqGRUGrad",
       {"x: float", "h0: float", "u: float", "mask: float", "states: float", "r: float", "z: float", "n: float", "gn: float", "d_states: float", "d_final: float"},
       {"dx: float", "dh0: float", "du: float", "db: float"},
       {"reverse: bool"},
       gruGradCompute,
       createGru,
       destroy<GruAttrs>},
  };
}

}  // namespace sliceseq
