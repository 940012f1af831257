#!/usr/bin/env python3
"""The lab's training step in PyTorch, for comparison with `trainer bench`.

Same network (784-1500-1000-500-10, ReLU), batch 64, float32 on the CPU, Adam
(TensorFlow 1's formula; PyTorch's differs only in where epsilon enters) with the L2
term lambda/2 * sum(w^2) over ALL variables (weights and biases), as the seed has it:
its gradient lambda * w is added to every gradient (Adam's weight_decay), as trainer's
update does. Random inputs and labels; the lab's
initialisation (uniform [0, 1)). Prints the median (and min/max) milliseconds per step
over --iters steps after --warmup, with --threads threads (default: all cores, as
`trainer bench --device cpu` uses).

    python3 bench/pytorch_step.py [--threads N] [--iters N] [--json]

Needs Debian's python3-torch (apt-get install python3-torch); exits 77 without it.
"""
import argparse
import json
import os
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--layers", default="784,1500,1000,500,10")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (apt-get install python3-torch): skipping",
              file=sys.stderr)
        return 77

    threads = args.threads or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    sizes = [int(s) for s in args.layers.split(",")]
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        with torch.no_grad():
            lin.weight.uniform_(0.0, 1.0)  # the lab's uniform01
            lin.bias.uniform_(0.0, 1.0)
        layers.append(lin)
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    params = list(net.parameters())
    lr, l2 = 0.005, 0.0005
    # weight_decay adds l2 * w to every gradient: the gradient of l2/2 * sum(w^2) over
    # all variables, the same update as trainer's adam_l2, and PyTorch's cheapest way.
    opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=l2)
    x = torch.rand(args.batch, sizes[0])
    y = torch.randint(0, sizes[-1], (args.batch,))
    xent = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = xent(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    med = statistics.median(times)
    result = {"framework": "pytorch", "version": torch.__version__, "threads": threads,
              "layers": sizes, "batch": args.batch, "steps": args.iters,
              "step": {"median_ms": med, "min_ms": min(times), "max_ms": max(times)}}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"pytorch {torch.__version__}, {threads} threads, {args.layers}, batch "
              f"{args.batch}: {med:.3f} ms/step median (min {min(times):.3f}, max "
              f"{max(times):.3f}) over {args.iters} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
