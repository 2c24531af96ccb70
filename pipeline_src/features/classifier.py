"""A small CNN trained on a labelled image dataset: the domain feature extractor.

Its penultimate layer (`feature_dim` units after ReLU) is the feature space of
FD_classifier, and its predicted labels count the classes a generator covers.
It works offline and fits small grayscale images (8x8 digits upwards), where
Inception features, made for 299x299 photographs, say little.

    (B, C, S, S) uint8 -> [-1, 1] -> conv-BN-ReLU x2 (width) maxpool
                               -> conv-BN-ReLU x2 (2 width) maxpool
                               -> adaptive avg pool 4x4 -> linear(feature_dim) ReLU  (features)
                               -> dropout -> linear(n_classes)                       (logits)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from pipeline_src.datasets.prepared import to_unit_range
from pipeline_src.progress import Progress
from pipeline_src.optim import eager


def conv_bn(c_in: int, c_out: int) -> tuple[nn.Module, ...]:
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)


class Classifier(nn.Module):
    def __init__(self, channels: int, n_classes: int, width: int = 32, feature_dim: int = 128,
                 dropout: float = 0.3):
        super().__init__()
        self.config = {"channels": channels, "n_classes": n_classes, "width": width,
                       "feature_dim": feature_dim, "dropout": dropout}
        w = width
        self.body = nn.Sequential(
            *conv_bn(channels, w), *conv_bn(w, w), nn.MaxPool2d(2),
            *conv_bn(w, 2 * w), *conv_bn(2 * w, 2 * w), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),
            nn.Linear(2 * w * 16, feature_dim), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, n_classes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, S, S) uint8 -> features (B, feature_dim), logits (B, n_classes)."""
        features = self.body(to_unit_range(x))
        return features, self.head(features)


def train_classifier(x: torch.Tensor, y: torch.Tensor, n_classes: int, options: dict, seed: int,
                     device: torch.device) -> Classifier:
    """Adam on cross-entropy for `options["steps"]` batches drawn with replacement
    (the cost does not grow with the dataset; every sample is seen ~steps*batch/N times)."""
    torch.manual_seed(seed)
    model = Classifier(x.shape[1], n_classes, options["width"], options["feature_dim"]).to(device)
    opt = eager(torch.optim.Adam)(model.parameters(), lr=options["lr"])  # eager: no torch._dynamo import
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options["steps"])
    gen = torch.Generator(device).manual_seed(seed)
    x, y = x.to(device), y.to(device)
    model.train()
    with Progress(options["steps"], "classifier training", unit="step") as bar:
        for _ in range(options["steps"]):
            idx = torch.randint(len(x), (options["batch_size"],), generator=gen, device=device)
            batch = x[idx]
            if options["shift"]:  # random translation by up to `shift` pixels: cheap augmentation
                batch = random_shift(batch, options["shift"], gen)
            _, logits = model(batch)
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
    return model.eval()


def random_shift(x: torch.Tensor, pixels: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by (dy, dx) in [-pixels, pixels], filling with the zero background."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, b), generator=gen, device=x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    bidx = torch.arange(b, device=x.device)[:, None, None, None]
    cidx = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[bidx, cidx, rows, cols]


@torch.no_grad()
def classify(model: Classifier, images: torch.Tensor, batch_size: int, device: torch.device,
             desc: str = "classifier features") -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, S, S) uint8 -> features (N, feature_dim) float64, predicted labels (N,) int64, on CPU."""
    feats, labels = [], []
    with Progress(len(images), desc) as bar:
        for start in range(0, len(images), batch_size):
            f, logits = model(images[start:start + batch_size].to(device))
            feats.append(f)  # kept on the device: no host sync per batch
            labels.append(logits.argmax(1))
            bar.update(len(f))
    return torch.cat(feats).cpu().double(), torch.cat(labels).cpu()


def save_payload(model: Classifier, extra: dict) -> dict:
    return {"config": model.config, "state_dict": model.state_dict(), **extra}


def from_payload(payload: dict) -> Classifier:
    model = Classifier(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()
