"""PyTorch twin of sliceseq's reference benchmark workload (CPU), for the ratio ours/PyTorch in `npm run bench`.

Per-slice CNN (3 conv blocks 16/32/64 + global average pooling) over the slices of each patient, a GRU(64) over
slices, and the bidirectional LSTM label decoder (hidden 32) seeded with the patient feature: h0 = Linear(feature),
c0 = 0, zero inputs, one step per class, a shared Linear(2*32 -> 1) per step. ASL loss, Adam. Prints one JSON line.

--lengths 2,3,4,5 gives each patient that many real slices (the rest padding, as sliceseq's short-series case):
the CNN runs on the real slices only and the GRU on packed sequences, as a PyTorch implementation would do it.
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


class SliceCnn(nn.Module):
    def __init__(self, channels=(16, 32, 64), in_channels=3):
        super().__init__()
        layers = []
        for out in channels:
            layers += [nn.Conv2d(in_channels, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            in_channels = out
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x).mean(dim=(2, 3))


class LabelDecoder(nn.Module):
    def __init__(self, features, hidden, classes):
        super().__init__()
        self.classes = classes
        self.init_h = nn.Linear(features, 2 * hidden)
        self.lstm = nn.LSTM(1, hidden, batch_first=True, bidirectional=True)
        self.score = nn.Linear(2 * hidden, 1)
        self.hidden = hidden

    def forward(self, feature):
        batch = feature.shape[0]
        h0 = self.init_h(feature).view(batch, 2, self.hidden).transpose(0, 1).contiguous()
        c0 = torch.zeros_like(h0)
        steps = torch.zeros(batch, self.classes, 1)
        out, _ = self.lstm(steps, (h0, c0))
        return self.score(out).squeeze(-1)


class ReferenceModel(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.cnn = SliceCnn()
        self.gru = nn.GRU(64, 64, batch_first=True)
        self.decoder = LabelDecoder(64, 32, classes)

    def forward(self, images, lengths=None):
        batch, slices = images.shape[:2]
        if lengths is None:
            folded = images.reshape(batch * slices, *images.shape[2:])
            features = self.cnn(folded).view(batch, slices, -1)
            _, last = self.gru(features)
            return self.decoder(last[-1])
        real = torch.cat([images[b, :length] for b, length in enumerate(lengths)])
        per_slice = self.cnn(real).split(list(lengths))
        padded = nn.utils.rnn.pad_sequence(per_slice, batch_first=True)
        packed = nn.utils.rnn.pack_padded_sequence(padded, list(lengths), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed)
        return self.decoder(last[-1])


def asl(logits, targets, gamma_neg=4.0, gamma_pos=1.0, clip=0.05, eps=1e-8):
    p = torch.sigmoid(logits)
    p_neg = (1 - p + clip).clamp(max=1)
    pos = targets * torch.log(p.clamp(min=eps)) * (1 - p) ** gamma_pos
    neg = (1 - targets) * torch.log(p_neg.clamp(min=eps)) * (1 - p_neg) ** gamma_neg
    return -(pos + neg).sum()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--slices", type=int, default=16)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--lengths", type=str, default=None, help="real slices per patient, e.g. 2,3,4,5")
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")] if args.lengths else None
    if lengths is not None:
        if len(lengths) != args.batch or max(lengths) > args.slices or min(lengths) < 1:
            parser.error(f"--lengths: expected {args.batch} values in 1..{args.slices}, got {args.lengths}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = ReferenceModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    # torch is NCHW; the shape is otherwise the same workload as ours (NHWC).
    images = torch.randn(args.batch, args.slices, 3, args.size, args.size)
    targets = (torch.rand(args.batch, 5) < 0.3).float()

    def step():
        optimizer.zero_grad()
        loss = asl(model(images, lengths), targets)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times, cpu_times = [], []
    for _ in range(args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    # The median step, as bench/run.ts reports for tfjs.
    seconds_per_step = statistics.median(times)
    print(json.dumps({
        "framework": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
        "steps": args.steps, "seconds_per_step": seconds_per_step,
        "cpu_seconds_per_step": statistics.median(cpu_times),
        "slices_per_second": (sum(lengths) if lengths else args.batch * args.slices) / seconds_per_step,
    }))


if __name__ == "__main__":
    main()
