"""Algorithm 1 of Goodfellow et al. 2014: `d_steps` discriminator updates per generator update.

The prepared data sits on the device (uint8 images stay uint8 until a batch is
drawn); batches and latents come from one seeded torch.Generator, so a seed
fixes init, data order and z. Per-step scalars are summed on the device and
read back once every `log_every` steps (no per-step host sync). The whole state
(networks, optimisers, EMA, step, accumulators, every RNG) is one checkpoint
dict, so a resumed run continues exactly where the killed one stopped. `Trainer.fit` is the
loop; what it writes along the way (log rows, samples, snapshots, checkpoints) and when it
stops early are hooks that the train stage wires to the run's files.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from pipeline_src.datasets.prepared import to_unit_range
from pipeline_src.training import losses, resolved_steps
from pipeline_src.training.generator import sample_latent
from pipeline_src.training.networks import build_networks
from pipeline_src.training.optimizers import lr_factor, make_optimizer

LOG_FIELDS = ("step", "loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "loss_d_fake",
              "d_heldout", "wall_s", "images_per_s")
_ACC = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "loss_d_fake")  # accumulated on device


def grad_norm(module: nn.Module) -> torch.Tensor:
    """Global L2 norm of the gradients, as a device tensor (no sync)."""
    norms = [torch.linalg.vector_norm(p.grad) for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else torch.zeros(())


def _numpy_state_as_tensor(state: tuple) -> tuple:
    """numpy's legacy RNG state with its key array as a tensor, so that a checkpoint holds only
    types `torch.load(weights_only=True)` admits: a resume file from elsewhere cannot run code."""
    kind, keys, pos, has_gauss, cached = state
    return kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)


def _numpy_state_from_tensor(state: tuple) -> tuple:
    kind, keys, pos, has_gauss, cached = state
    return kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached


def _nothing(*_) -> None:
    pass


@dataclass
class Hooks:
    """What `Trainer.fit` tells the files around it, and asks them; the train stage wires them.
    Each gets the step it is called at."""

    on_log: Callable[[dict], None] = _nothing  # a log row (finite losses)
    on_sample: Callable[[int], None] = _nothing  # every `sample_every` steps before the last
    on_snapshot: Callable[[int], None] = _nothing  # every `snapshot_every` steps before the last
    stop_early: Callable[[int], bool] = lambda step: False  # asked right after each on_snapshot (early_stop)
    on_checkpoint: Callable[[int], None] = _nothing  # every `checkpoint_every` steps, and on a stop request
    stop_requested: Callable[[], bool] = lambda: False  # asked after every step (SIGTERM)


# Why `Trainer.fit` returned.
FINISHED, DIVERGED, STOPPED, EARLY = "finished", "diverged", "stopped", "stopped early"


@dataclass
class Trainer:
    """One (variant, seed) run. `options` are the resolved variant options."""

    options: dict
    data: torch.Tensor  # (N, C, H, W) uint8 or (N, D) float32, already on `device`
    seed: int
    device: torch.device
    # a fixed batch of held-out real samples (the test split), as stored: D's output on it is logged
    # beside D(x) on training batches, where a widening gap shows D memorising its training set
    heldout: torch.Tensor | None = None
    rows: list[dict] = field(default_factory=list)
    scores: list[tuple[int, float]] = field(default_factory=list)  # (step, selection score) of the scored snapshots

    def __post_init__(self):
        o = self.options
        torch.manual_seed(self.seed)  # network init
        self.g, self.d = build_networks(o["model"], tuple(self.data.shape[1:]), o)
        memory_format = torch.channels_last if o["channels_last"] and self.data.dim() == 4 else torch.contiguous_format
        self.g.to(self.device, memory_format=memory_format)
        self.d.to(self.device, memory_format=memory_format)
        self.ema = copy.deepcopy(self.g).eval().requires_grad_(False) if o["ema"] > 0 else None
        # The modules above own the weights (checkpoints, EMA); the steps call these,
        # which are the same modules compiled when `compile` is on.
        self.g_fwd = torch.compile(self.g) if o["compile"] else self.g
        self.d_fwd = torch.compile(self.d) if o["compile"] else self.d
        self._memory_format = memory_format
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
        self.opt_g = make_optimizer(self.g, o["lr_g"], o)
        self.opt_d = make_optimizer(self.d, o["lr_d"], o)
        self.gen = torch.Generator(self.device).manual_seed(self.seed)  # data order, z, GP mixing
        self.step = 0
        self.total_steps = resolved_steps(o, len(self.data))  # the length of the learning-rate schedule
        self._fake_for_g = None  # the last D update's fake batch, with G's graph (reuse_fake)
        self.acc = torch.zeros(len(_ACC), device=self.device)  # sums since the last log row
        self.acc_d_count = 0  # D updates summed into acc (d_steps per step)
        self.acc_g_count = 0
        self.wall_s = 0.0  # training time of earlier sessions of this run (resume)
        self._last_log_time = None
        self._last_log_step = 0

    # ---- sampling -------------------------------------------------------
    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return sample_latent(n, self.options["z_dim"], self.options["noise"], generator or self.gen)

    def as_input(self, x: torch.Tensor) -> torch.Tensor:
        """Stored samples (uint8 images or float points) as D takes them: [-1, 1], D's memory layout."""
        x = to_unit_range(x)
        return x.contiguous(memory_format=self._memory_format) if x.dim() == 4 else x

    def real_batch(self) -> torch.Tensor:
        idx = torch.randint(len(self.data), (self.options["batch_size"],), generator=self.gen, device=self.device)
        return self.as_input(self.data[idx])

    def autocast(self):
        """bf16 autocast around the forward passes when `amp_bf16` is on (losses stay float32)."""
        if not self.options["amp_bf16"]:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    # ---- the two updates ------------------------------------------------
    def r1_due(self, index: int) -> bool:
        """Whether D update `index` (of this step's d_steps) carries the R1 penalty: every
        `r1_every`-th D update of the run (a function of the step, so a resumed run keeps the rhythm)."""
        o = self.options
        return o["r1_weight"] > 0 and (self.step * o["d_steps"] + index) % o["r1_every"] == 0

    def d_step(self, r1_due: bool) -> None:
        o, loss_kind = self.options, self.options["loss"]
        real = self.real_batch()
        if o["reuse_fake"]:  # keep G's graph: the G update backpropagates through this batch
            with self.autocast():
                self._fake_for_g = self.g_fwd(self.sample_z(o["batch_size"]))
            fake = self._fake_for_g.detach()
        else:
            with torch.no_grad(), self.autocast():
                fake = self.g_fwd(self.sample_z(o["batch_size"]))
        r1 = None
        with self.autocast():
            if r1_due:  # the penalty differentiates twice: eager D, like the GP below
                r1, out_real = losses.r1_penalty(self.d, real)
                out_real = out_real.float()
            else:
                out_real = self.d_fwd(real).float()
            out_fake = self.d_fwd(fake).float()
        loss = losses.d_loss(loss_kind, out_real, out_fake, o["label_smoothing"])
        if r1 is not None:
            loss = loss + 0.5 * o["r1_weight"] * o["r1_every"] * r1.float()
        if loss_kind == "wgan_gp":
            eps = torch.rand(len(real), generator=self.gen, device=self.device)
            # the penalty differentiates twice: eager D (compiled graphs do not support it), float32
            loss = loss + o["gp_weight"] * losses.gradient_penalty(self.d, real, fake.float(), eps)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        norm = grad_norm(self.d)
        self.opt_d.step()
        self.acc[0] += loss.detach()
        self.acc[2] += losses.d_output_summary(loss_kind, out_real.detach())
        self.acc[3] += losses.d_output_summary(loss_kind, out_fake.detach())
        self.acc[4] += norm
        self.acc[6] += losses.d_fake_loss(loss_kind, out_fake.detach())
        self.acc_d_count += 1

    def g_step(self) -> None:
        o = self.options
        self.d.requires_grad_(False)  # G's update needs no gradients of D's weights
        fake, self._fake_for_g = self._fake_for_g, None
        with self.autocast():
            if fake is None:  # Algorithm 1 of Goodfellow et al.: a fresh minibatch of noise
                fake = self.g_fwd(self.sample_z(o["batch_size"]))
            out = self.d_fwd(fake).float()
        loss = losses.g_loss(o["loss"], out)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.d.requires_grad_(True)
        norm = grad_norm(self.g)
        self.opt_g.step()
        if self.ema is not None:
            self.update_ema()
        self.acc[1] += loss.detach()
        self.acc[5] += norm
        self.acc_g_count += 1

    @torch.no_grad()
    def update_ema(self) -> None:
        decay = self.options["ema"]
        for e, p in zip(self.ema.parameters(), self.g.parameters()):
            e.lerp_(p, 1.0 - decay)
        for e, b in zip(self.ema.buffers(), self.g.buffers()):
            e.copy_(b)  # BatchNorm statistics follow G

    def set_learning_rates(self) -> None:
        """The schedule's learning rates for this step (a function of the step alone, so a resumed run
        continues the same schedule)."""
        factor = lr_factor(self.options, self.step, self.total_steps)
        for opt, lr in ((self.opt_g, self.options["lr_g"]), (self.opt_d, self.options["lr_d"])):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def train_step(self) -> None:
        if self.options["lr_decay"] != "constant":
            self.set_learning_rates()
        for i in range(self.options["d_steps"]):
            self.d_step(self.r1_due(i))
        self.g_step()
        self.step += 1

    def fit(self, steps: int, hooks: Hooks) -> str:
        """Train until step `steps`: FINISHED; DIVERGED at a log row with a non-finite loss (the
        row is the last of `rows`); STOPPED after a stop request, once `on_checkpoint` has run;
        EARLY when `stop_early` says so after a snapshot (the last log row is then at that step).
        A checkpoint is offered only while the accumulators are finite (a state to resume from)."""
        o = self.options
        self.start_clock()
        while self.step < steps:
            self.train_step()
            s = self.step
            if (s % o["log_every"] == 0 or s == steps) and not self._logged(hooks):
                return DIVERGED
            if s % o["sample_every"] == 0 and s < steps:
                hooks.on_sample(s)
            if o["snapshot_every"] and s % o["snapshot_every"] == 0 and s < steps:
                hooks.on_snapshot(s)
                if hooks.stop_early(s):  # the last log row at the last step, as at the end of a run
                    logged = bool(self.rows) and self.rows[-1]["step"] == s
                    return EARLY if logged or self._logged(hooks) else DIVERGED
            stop = hooks.stop_requested()
            if stop or (s % o["checkpoint_every"] == 0 and s < steps):
                if torch.isfinite(self.acc).all():
                    hooks.on_checkpoint(s)
                if stop:
                    return STOPPED
        return FINISHED

    # ---- logging ----------------------------------------------------------
    def _logged(self, hooks: Hooks) -> bool:
        """A log row handed to `on_log`; False when a loss is non-finite (the row stays the last of `rows`)."""
        row = self.log_row()
        if not all(math.isfinite(row[k]) for k in ("loss_d", "loss_g")):
            return False
        hooks.on_log(row)
        return True

    @torch.no_grad()
    def d_heldout(self) -> torch.Tensor:
        """D's mean output on the held-out batch (a probability for the BCE losses), as a device scalar
        (NaN without one). D stays in training mode, as on its training batches, and its BatchNorm
        statistics are put back: looking at D does not change the run."""
        if self.heldout is None:
            return torch.full((), float("nan"), device=self.device)
        buffers = [b.clone() for b in self.d.buffers()]
        with self.autocast():
            out = self.d_fwd(self.as_input(self.heldout)).float()
        for b, saved in zip(self.d.buffers(), buffers):
            b.copy_(saved)
        return losses.d_output_summary(self.options["loss"], out)

    def log_row(self) -> dict:
        """Average the accumulators into one log.csv row (one host sync) and reset them."""
        now = time.perf_counter()
        sums = torch.cat([self.acc, self.d_heldout().view(1)]).tolist()
        d_n, g_n = max(self.acc_d_count, 1), max(self.acc_g_count, 1)
        row = {"step": self.step}
        for i, name in enumerate(_ACC):
            row[name] = sums[i] / (g_n if name in ("loss_g", "grad_norm_g") else d_n)
        row["d_heldout"] = sums[-1]
        elapsed = now - (self._last_log_time or now)
        self.wall_s += elapsed
        steps = self.step - self._last_log_step
        images = steps * self.options["batch_size"] * (self.options["d_steps"] + 1)  # real seen by D + generated for G
        row["wall_s"] = round(self.wall_s, 3)
        row["images_per_s"] = round(images / elapsed, 1) if elapsed > 0 else float("nan")
        self.acc.zero_()
        self.acc_d_count = self.acc_g_count = 0
        self._last_log_time, self._last_log_step = now, self.step
        self.rows.append(row)
        return row

    def start_clock(self) -> None:
        self._last_log_time = time.perf_counter()
        self._last_log_step = self.step

    # ---- state ------------------------------------------------------------
    def generator_for_eval(self) -> nn.Module:
        return self.ema if self.ema is not None else self.g

    def state_dict(self) -> dict:
        state = {
            "step": self.step,
            "g": self.g.state_dict(),
            "d": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "acc": self.acc.cpu(),
            "acc_counts": (self.acc_d_count, self.acc_g_count),
            "rows": list(self.rows),
            "scores": list(self.scores),
            "wall_s": self.wall_s,
            "rng": {
                "generator": self.gen.get_state(),
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "numpy": _numpy_state_as_tensor(np.random.get_state()),
                "python": random.getstate(),
            },
        }
        return state

    def load_state_dict(self, state: dict) -> None:
        self.step = state["step"]
        self.g.load_state_dict(state["g"])
        self.d.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.acc.copy_(state["acc"].to(self.device))
        self.acc_d_count, self.acc_g_count = state["acc_counts"]
        self.rows = list(state["rows"])
        self.scores = [tuple(s) for s in state.get("scores", [])]  # absent from checkpoints before early stopping
        self.wall_s = state["wall_s"]
        rng = state["rng"]
        self.gen.set_state(rng["generator"])
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        np.random.set_state(_numpy_state_from_tensor(rng["numpy"]))
        random.setstate(rng["python"])
