"""A real (small) training job for the store tests: a DDP model and an Adam optimizer trained on
the CPU, checkpointed through gpuguard.CheckpointStore, run alone or under
`python -m torch.distributed.run` (gloo).

    python train_child.py DIR LOG      (environment: see the knobs below)

Every rank appends JSON lines to LOG.<rank>: start (the step it resumed from and a digest of the
loaded parameters), step (each finished step), saved (step and parameter digest), stop.

Knobs: STEPS (total steps), EVERY (every_steps), SAVE (dcp | torch | async), KILL_AT (step at
which rank KILL_RANK SIGKILLs itself mid-save, after writing half a file), STEP_SLEEP (seconds per
step, to give a test time to send a signal), PREEMPT=1 (guard(checkpoint=store) installs the
SIGTERM handling).
"""

import datetime
import hashlib
import json
import os
import signal
import sys
import threading
import time

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

import gpuguard
import gpuguard.torch as ggt


def digest(model) -> str:
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def main() -> int:
    directory, log = sys.argv[1], sys.argv[2]
    steps = int(os.environ.get("STEPS", "8"))
    every = int(os.environ.get("EVERY", "2"))
    mode = os.environ.get("SAVE", "dcp")
    kill_at = int(os.environ.get("KILL_AT", "-1"))
    kill_rank = int(os.environ.get("KILL_RANK", "1"))
    sleep = float(os.environ.get("STEP_SLEEP", "0"))
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank = dist.get_rank() if distributed else 0
    out = open(f"{log}.{rank}", "a", buffering=1)

    def note(**kw):
        out.write(json.dumps({"rank": rank, "pid": os.getpid(), **kw}) + "\n")

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    model = torch.nn.parallel.DistributedDataParallel(net) if distributed else net
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    store = gpuguard.CheckpointStore(directory, keep_last=3, every_steps=every)
    if os.environ.get("PREEMPT"):
        ggt.guard(checkpoint=store, notice_seconds=float(os.environ.get("NOTICE", "30")), quiet=True)
    latest = store.latest()
    start = 0
    if latest is not None:
        if mode in ("dcp", "async"):
            msd, osd = get_state_dict(model, opt)
            state = {"model": msd, "optim": osd}
            dcp.load(state, checkpoint_id=latest.path)
            set_state_dict(model, opt, model_state_dict=state["model"], optim_state_dict=state["optim"])
        else:
            state = torch.load(latest.path / f"rank{rank}.pt", weights_only=True)
            net.load_state_dict(state["model"])
            opt.load_state_dict(state["optim"])
        start = latest.step + 1
    note(event="start", start=start, latest=None if latest is None else latest.step, params=digest(model))

    step = start
    for step in range(start, steps):
        g = torch.Generator().manual_seed(step * 1000 + rank)
        x = torch.randn(16, 32, generator=g)
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        time.sleep(sleep)
        note(event="step", step=step)
        if store.due(step=step):
            params = digest(model)
            if mode == "async":
                msd, osd = get_state_dict(model, opt)
                snapshot = {"model": {k: v.clone() for k, v in msd.items()}, "optim": osd}
                job = store.save_async(
                    step,
                    lambda p, s=snapshot: dcp.async_save(s, checkpoint_id=p, process_group=store.async_process_group)
                    if distributed
                    else dcp.async_save(s, checkpoint_id=p),
                )
                if store.preempted:
                    job.result()
            else:
                with store.save(step) as path:
                    if step == kill_at and rank == kill_rank:
                        with open(path / f"rank{rank}.pt", "wb") as f:
                            f.write(b"half a checkpoint")
                            f.flush()
                        note(event="killing", step=step)
                        os.kill(os.getpid(), signal.SIGKILL)
                    if mode == "dcp":
                        msd, osd = get_state_dict(model, opt)
                        dcp.save({"model": msd, "optim": osd}, checkpoint_id=path)
                    else:
                        sd = {"model": net.state_dict(), "optim": opt.state_dict()}
                        torch.save(sd, path / f"rank{rank}.pt")
            note(event="saved", step=step, params=params)  # async: started with these parameters
        if store.preempted:
            note(event="preempted", step=step)
            break
    store.close()
    note(event="stop", step=step, threads=threading.active_count())
    if distributed:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
