"""Optimiser helpers shared by the GAN trainer and the classifier of FD_classifier."""

from __future__ import annotations

import functools
import inspect

import torch


@functools.cache
def eager(cls: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """`cls` without the wrappers that import torch._dynamo on their first call.

    torch.optim wraps `step` (graph breaks for torch.compile) and `zero_grad`, `state_dict`,
    `load_state_dict`, `add_param_group` (dynamo.disable) in code that imports torch._dynamo
    and inductor the first time it runs: 2.4 s of a tiny toy training job's 7 s on 2 cores.
    Outside torch.compile those wrappers do nothing else, so this subclass calls the wrapped
    functions directly, `step` under no_grad as its wrapper does; step hooks and the profiler
    label still apply. Same arithmetic, same state_dict: a unit test compares the bits."""
    raw = {name: inspect.unwrap(getattr(cls, name))
           for name in ("step", "zero_grad", "state_dict", "load_state_dict", "add_param_group")}

    def step(self, closure=None):
        if self.defaults.get("differentiable"):
            return super(subclass, self).step(closure)
        with torch.no_grad():
            return raw["step"](self, closure)

    subclass = type(cls.__name__, (cls,), {**raw, "step": step, "__module__": __name__,
                                           "__doc__": f"{cls.__name__}, eager only (see `eager`)."})
    return subclass
