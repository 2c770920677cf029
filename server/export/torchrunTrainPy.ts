/**
 * The `train.py` of a torchrun export: a fixed, plain PyTorch script (numpy + torch only). Everything
 * that depends on the run (optimiser, rates, batch size, seed, data file, the architecture for the event
 * log) is read at run time from the export's `job.json` with json.load, so nothing from a run folder is
 * ever written into code. The text is static: no value is interpolated into it.
 */

export const TORCHRUN_TRAIN_FILE = 'train.py';

export const TORCHRUN_TRAIN_PY = String.raw`#!/usr/bin/env python3
"""Retrain a network grown by Growth Lab with PyTorch's distributed engine.

One process:         python3 train.py
One machine, 4 GPUs: torchrun --nproc_per_node 4 train.py
Several machines:    torchrun --nnodes 2 --nproc_per_node 4 --rdzv_backend c10d \
                         --rdzv_endpoint HOST:29400 --rdzv_id JOB train.py

DistributedDataParallel with a DistributedSampler; gloo on CPU, nccl on CUDA. The global batch size
(--batch-size) is kept whatever the number of processes: each process takes an equal share. The
optimiser, learning rate, schedule, weight decay and augmentation are the Growth Lab run's (job.json);
the command line overrides them. Rank 0 writes a checkpoint after every epoch (--resume continues from
the newest) and a Growth Lab event log (events.jsonl), so the job shows in VS Code's Growth Lab panel.
Needs numpy and torch only; see README.md.
"""
import argparse
import datetime
import json
import math
import os
import re
import secrets
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import model as grown  # noqa: E402  (model.py of this export)

JOB_FORMAT = "growth-lab-torchrun-job"
CHECKPOINT_DIR = "torchrun"
LAST_RUN_FILE = ".last-run"


class Stop(Exception):
    """Raised in the main thread when the process is asked to terminate (torchrun stops the others when one rank fails)."""


def _on_signal(signum, _frame):
    raise Stop("terminated by signal %d" % signum)


def load_job():
    with open(os.path.join(HERE, "job.json"), "r", encoding="utf-8") as f:
        job = json.load(f)
    if not isinstance(job, dict) or job.get("format") != JOB_FORMAT:
        raise SystemExit("train.py: job.json is not a Growth Lab torchrun job")
    return job


def parse_args(job):
    t = job["training"]
    p = argparse.ArgumentParser(description="Retrain the grown network with DistributedDataParallel.")
    p.add_argument("--epochs", type=int, default=t["epochs"], help="epochs to train (default: the run's, %(default)s)")
    p.add_argument("--batch-size", type=int, default=t["batchSize"], help="global batch size, split over the processes (default %(default)s)")
    p.add_argument("--lr", type=float, default=t["learningRate"], help="base learning rate (default %(default)s)")
    p.add_argument("--seed", type=int, default=job["seed"], help="seed of the data order and augmentation (default %(default)s)")
    p.add_argument("--data", default=os.path.join(HERE, job["data"]["file"]), help="the .npz with x_train, y_train, x_test, y_test")
    p.add_argument("--weights", default=os.path.join(HERE, "weights.npz"), help="starting weights (default: the export's)")
    p.add_argument("--runs", default=os.path.normpath(os.path.join(HERE, job["runsDir"])), help="folder that receives the run folder with events.jsonl (default %(default)s)")
    p.add_argument("--run-dir", default=None, help="with --resume: the run folder to continue (default: the last one started here)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint of the run folder")
    p.add_argument("--save", default=None, help="write the retrained weights as .npz (state_dict arrays) plus an architecture.json for Growth Lab's model.init.from")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--amp", action="store_true", help="mixed precision (float16 autocast and a gradient scaler) on CUDA")
    p.add_argument("--eval-every", type=int, default=t.get("evalEvery", 1), help="evaluate on the test set every k epochs and after the last")
    return p.parse_args()


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventLog:
    """Appends Growth Lab run events (one JSON object per line) to events.jsonl; rank 0 only."""

    def __init__(self, run_dir, run_id):
        self.path = os.path.join(run_dir, "events.jsonl")
        self.run_id = run_id

    def write(self, event):
        event = dict(event)
        event["time"] = now_iso()
        event["runId"] = self.run_id
        line = json.dumps(event, allow_nan=False, separators=(",", ":")) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def write_json_atomic(path, value):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def new_run_id(name):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "run"
    return "%s-%s-torchrun-%s" % (stamp, clean, secrets.token_hex(2))


def lr_at(job, base_lr, epochs, t, dt):
    """The rate of the step starting at fractional epoch t (a step lasts dt epochs): Growth Lab's schedule
    (server/training/lrSchedule.ts) from the start of the run: linear warmup, then constant, step
    (MultiStepLR on complete epochs) or cosine to minLearningRate at the last epoch."""
    s = job["training"].get("lrSchedule") or {"type": "constant", "warmupEpochs": 0}
    w = s.get("warmupEpochs", 0) or 0
    if t < w:
        return base_lr * min(1.0, max(0.0, t + dt) / w)
    kind = s.get("type", "constant")
    if kind == "step":
        done = math.floor(t)
        rate = base_lr
        for m in s.get("milestones", []):
            if 0 < m <= done:
                rate *= s.get("gamma", 0.1)
        return rate
    if kind == "cosine":
        span = epochs - w
        lo = min(s.get("minLearningRate", 0.0), base_lr)
        if span <= 0:
            return base_lr
        progress = min(1.0, max(0.0, (t - w) / span))
        return lo + (base_lr - lo) * (1 + math.cos(math.pi * progress)) / 2
    return base_lr


def make_optimizer(job, params, lr):
    t = job["training"]
    name = t["optimizer"]
    # Growth Lab's update rules (server/engine/optimizers.ts) are these three, term for term.
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=t["momentum"], nesterov=bool(t["nesterov"] and t["momentum"] > 0), weight_decay=t["weightDecay"])
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(t["beta1"], t["beta2"]), eps=t["epsilon"], weight_decay=t["weightDecay"])
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(t["beta1"], t["beta2"]), eps=t["epsilon"], weight_decay=t["weightDecay"])
    raise SystemExit("train.py: unknown optimizer %r in job.json" % name)


def augment(job, x, generator):
    """Random crop with zero padding and horizontal flip (training only), seeded per epoch and rank."""
    a = job["training"].get("augment") or {}
    crop = a.get("crop")
    if crop and x.dim() == 4:
        pad = int(crop.get("pad", 4))
        n, _, h, w = x.shape
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    if a.get("flip") and x.dim() == 4:
        flip = torch.rand(x.shape[0], generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def normalize(job, x):
    norm = job["training"].get("normalize")
    if not norm or x.dim() != 4:
        return x
    mean = torch.tensor(norm["mean"], dtype=x.dtype, device=x.device)[None, :, None, None]
    std = torch.tensor(norm["std"], dtype=x.dtype, device=x.device)[None, :, None, None]
    return (x - mean) / std


def loss_fn(job, out, y, smoothing=True):
    """Training loss: cross-entropy with the run's label smoothing, or mean squared error; the test loss is plain cross-entropy, as in Growth Lab."""
    if job["task"] == "classification":
        eps = float(job["training"].get("labelSmoothing", 0) or 0) if smoothing else 0.0
        return F.cross_entropy(out, y, label_smoothing=eps)
    return F.mse_loss(out, y)


def load_data(path, task):
    """The splits as tensors, and the function that turns a batch of inputs into floats: byte pixels
    (uint8, one byte each in memory) become byte_values[v], the floats Growth Lab feeds for them."""
    with np.load(path) as d:
        arrays = {k: np.array(d[k]) for k in d.files}
    def ys(a):
        return torch.from_numpy(a).long() if task == "classification" else torch.from_numpy(a).float()
    if "byte_values" in arrays:
        lut = torch.from_numpy(arrays["byte_values"].astype(np.float32))
        to_float = lambda x: lut[x.long()]  # noqa: E731
    else:
        to_float = lambda x: x.float()  # noqa: E731
    train = TensorDataset(torch.from_numpy(arrays["x_train"]), ys(arrays["y_train"]))
    test = TensorDataset(torch.from_numpy(arrays["x_test"]), ys(arrays["y_test"]))
    return train, test, to_float


def evaluate(job, net, dataset, to_float, device):
    net.eval()
    total, loss_sum, correct = 0, 0.0, 0
    with torch.no_grad():
        for x, y in DataLoader(dataset, batch_size=1000):
            x, y = normalize(job, to_float(x).to(device)), y.to(device)
            out = net(x).float()
            loss_sum += float(loss_fn(job, out, y, smoothing=False)) * x.shape[0]
            if job["task"] == "classification":
                correct += int((out.argmax(1) == y).sum())
            total += x.shape[0]
    net.train()
    return loss_sum / max(1, total), (correct / max(1, total) if job["task"] == "classification" else None)


def save_checkpoint(folder, epoch, step, state):
    os.makedirs(folder, exist_ok=True)
    name = "epoch-%04d.ckpt" % epoch
    tmp = os.path.join(folder, name + ".tmp-%d" % os.getpid())
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(folder, name))
    write_json_atomic(os.path.join(folder, "latest.json"), {"file": name, "epoch": epoch, "step": step})
    return name


def save_weights(net, path):
    """The state_dict as .npz (the export's weights.npz layout), and an architecture.json naming it."""
    path = os.path.abspath(path)
    state = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    tmp = path + ".tmp-%d.npz" % os.getpid()
    np.savez(tmp, **state)
    os.replace(tmp, path)
    with open(os.path.join(HERE, "architecture.json"), "r", encoding="utf-8") as f:
        arch = json.load(f)
    folder, base = os.path.split(path)
    arch["weights"] = dict(arch.get("weights") or {}, file=base, layout="pytorch-state-dict")
    arch_file = os.path.join(folder, "architecture.json" if base == "weights.npz" else os.path.splitext(base)[0] + ".architecture.json")
    write_json_atomic(arch_file, arch)
    return arch_file


def main():
    job = load_job()
    args = parse_args(job)
    signal.signal(signal.SIGTERM, _on_signal)
    distributed = "RANK" in os.environ and "WORLD_SIZE" in os.environ
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    if distributed:
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    else:
        rank, world, local_rank = 0, 1, 0
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if args.batch_size % world != 0:
        raise SystemExit("train.py: --batch-size %d is not divisible by the %d processes; the global batch is split evenly" % (args.batch_size, world))
    per_rank = args.batch_size // world

    train_set, test_set, to_float = load_data(args.data, job["task"])
    net = grown.load_weights(grown.GrownNet(), args.weights).to(device)
    optimizer = make_optimizer(job, net.parameters(), args.lr)
    start_epoch, step = 0, 0
    events, run_dir, run_id, elapsed_before = None, None, None, 0.0

    if args.resume:
        resume = None
        if rank == 0:
            run_dir = args.run_dir
            if run_dir is None:
                with open(os.path.join(HERE, LAST_RUN_FILE), "r", encoding="utf-8") as f:
                    run_dir = f.read().strip()
            with open(os.path.join(run_dir, CHECKPOINT_DIR, "latest.json"), "r", encoding="utf-8") as f:
                latest = json.load(f)
            resume = torch.load(os.path.join(run_dir, CHECKPOINT_DIR, os.path.basename(latest["file"])), map_location="cpu")
            if resume["batchSize"] != args.batch_size:
                raise SystemExit("train.py: the checkpoint was made with --batch-size %d, not %d" % (resume["batchSize"], args.batch_size))
        if distributed:
            box = [resume]
            dist.broadcast_object_list(box, src=0)
            resume = box[0]
        net.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        start_epoch, step, elapsed_before = resume["epoch"], resume["step"], resume.get("elapsedMs", 0.0)
        run_id = resume["runId"]

    params = sum(p.numel() for p in net.parameters())
    if rank == 0:
        if run_id is None:
            run_id = new_run_id(job["name"])
            run_dir = os.path.join(args.runs, run_id)
            os.makedirs(os.path.join(run_dir, CHECKPOINT_DIR), exist_ok=True)
            config = dict(job["config"], name=job["name"] + " (torchrun)")
            config["training"] = dict(config["training"], epochs=args.epochs, batchSize=args.batch_size, learningRate=args.lr)
            write_json_atomic(os.path.join(run_dir, "config.json"), config)
            write_json_atomic(os.path.join(run_dir, "run.json"), {"formatVersion": 1, "runId": run_id, "createdAt": now_iso(), "external": {"tool": "torchrun", "sourceRunId": job["sourceRunId"]}})
            with open(os.path.join(HERE, LAST_RUN_FILE), "w", encoding="utf-8") as f:
                f.write(os.path.abspath(run_dir) + "\n")
            events = EventLog(run_dir, run_id)
            events.write({"type": "start", "config": config, "architecture": job["architecture"], "warnings": []})
        else:
            events = EventLog(run_dir, run_id)
        how = "resumed at epoch %d" % start_epoch if args.resume else "started"
        events.write({"type": "status", "status": "running", "message": "torchrun job %s: %d process(es), global batch %d, on %s" % (how, world, args.batch_size, device.type)})
        print("train.py: run %s %s, %d process(es) x batch %d, %s" % (run_id, how, world, per_rank, device.type), flush=True)

    model = DistributedDataParallel(net, device_ids=[local_rank] if use_cuda else None) if distributed else net
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=bool(job["training"].get("shuffle", True)), seed=args.seed, drop_last=False)
    loader = DataLoader(train_set, batch_size=per_rank, sampler=sampler)
    scaler = torch.cuda.amp.GradScaler(enabled=args.amp and use_cuda)
    steps_per_epoch = len(loader)
    started = time.time()
    try:
        for epoch in range(start_epoch, args.epochs):
            sampler.set_epoch(epoch)
            gen = torch.Generator().manual_seed(args.seed * 1000003 + epoch * 1009 + rank)
            sums = torch.zeros(3, dtype=torch.float64)  # loss * n, correct, n
            epoch_start = time.time()
            model.train()
            for i, (x, y) in enumerate(loader):
                lr = lr_at(job, args.lr, args.epochs, epoch + i / steps_per_epoch, 1.0 / steps_per_epoch)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                x = normalize(job, augment(job, to_float(x), gen)).to(device)
                y = y.to(device)
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=args.amp and use_cuda):
                    out = model(x)
                    loss = loss_fn(job, out.float(), y)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                step += 1
                sums[0] += float(loss) * x.shape[0]
                if job["task"] == "classification":
                    sums[1] += float((out.argmax(1) == y).sum())
                sums[2] += x.shape[0]
            if distributed:
                dist.all_reduce(sums)
            seconds = time.time() - epoch_start
            elapsed = elapsed_before + (time.time() - started) * 1000.0
            if rank == 0:
                last = epoch + 1 == args.epochs
                metrics = {"type": "metrics", "epoch": epoch + 1, "step": step, "trainLoss": float(sums[0] / sums[2]), "params": params, "samplesPerSecond": float(sums[2]) / max(seconds, 1e-9), "engine": "torch", "executionProvider": device.type, "elapsedMs": elapsed, "learningRate": lr}
                if job["task"] == "classification":
                    metrics["trainAccuracy"] = float(sums[1] / sums[2])
                if last or (epoch + 1) % max(1, args.eval_every) == 0:
                    test_loss, test_acc = evaluate(job, net, test_set, to_float, device)
                    metrics["testLoss"] = test_loss
                    if test_acc is not None:
                        metrics["testAccuracy"] = test_acc
                events.write(metrics)
                print("epoch %d: train loss %.6f%s" % (epoch + 1, metrics["trainLoss"], ", test accuracy %.4f" % metrics["testAccuracy"] if "testAccuracy" in metrics else ""), flush=True)
                state = {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1, "step": step, "runId": run_id, "batchSize": args.batch_size, "elapsedMs": elapsed}
                name = save_checkpoint(os.path.join(run_dir, CHECKPOINT_DIR), epoch + 1, step, state)
                events.write({"type": "checkpoint", "epoch": epoch + 1, "step": step, "file": name})
            if distributed:
                dist.barrier()
        if rank == 0:
            if args.save:
                arch_file = save_weights(net, args.save)
                print("train.py: saved weights to %s (import with model.init.from: %s)" % (os.path.abspath(args.save), arch_file), flush=True)
            events.write({"type": "status", "status": "completed", "message": "torchrun job: %d epochs, %d process(es), global batch %d" % (args.epochs, world, args.batch_size)})
    except (Stop, KeyboardInterrupt, RuntimeError) as e:
        if rank == 0 and events is not None:
            events.write({"type": "status", "status": "failed", "message": "torchrun job failed: %s; continue with --resume" % str(e)[:500]})
        print("train.py (rank %d): %s" % (rank, e), file=sys.stderr, flush=True)
        sys.exit(1)
    finally:
        if distributed and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;
