#!/usr/bin/python3
"""The original's input pipeline (PIL + torchvision), one thread, on the same photographs.

Measures images/s of a bare PIL decode (Image.open + convert('RGB')), and of decode plus the
original's SimCLR augmentation at 224 px, its NULL preset (crop + flip), and PIC's
multi-crop recipe (1 crop of 160 px with scale [0.14, 1] and 3 of 96 px with [0.08, 0.14],
each with the SimCLR steps), all ending in ToTensor + Normalize as in the original. Bytes are read into memory first (the original's
cache mode). Run with Debian's /usr/bin/python3 (torch, torchvision, PIL).
"""
import argparse
import io
import pathlib
import random
import time

import torch
from PIL import Image, ImageFilter
from torchvision import transforms


class GaussianBlur:
    """The original's blur: PIL GaussianBlur with radius sigma ~ U(0.1, 2.0)."""

    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, x):
        return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


def pipelines(size):
    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    simclr = transforms.Compose([
        transforms.RandomResizedCrop(size, scale=(0.08, 1.0)),
        transforms.RandomHorizontalFlip(),
        transforms.RandomApply([transforms.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        transforms.RandomApply([GaussianBlur()], p=0.5),
        transforms.ToTensor(),
        normalize,
    ])
    null = transforms.Compose([
        transforms.RandomResizedCrop(size, scale=(0.08, 1.0)),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        normalize,
    ])
    return {"SimCLR": simclr, "NULL": null}


def simclr_crop(size, scale):
    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    return transforms.Compose([
        transforms.RandomResizedCrop(size, scale=scale),
        transforms.RandomHorizontalFlip(),
        transforms.RandomApply([transforms.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
        transforms.RandomGrayscale(p=0.2),
        transforms.RandomApply([GaussianBlur()], p=0.5),
        transforms.ToTensor(),
        normalize,
    ])


def multi_crop():
    """The original's MultiCrop as PIC's recipe uses it: one decode, four crops."""
    large = simclr_crop(160, (0.14, 1.0))
    small = simclr_crop(96, (0.08, 0.14))
    return lambda image: [large(image)] + [small(image) for _ in range(3)]


def decode(data):
    return Image.open(io.BytesIO(data)).convert("RGB")


def images_per_second(files, seconds, one):
    for f in files:  # warm-up pass
        one(f)
    passes, start = 0, time.perf_counter()
    while True:
        for f in files:
            one(f)
        passes += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return len(files) * passes / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--dir", default="/usr/share/doc/opencv-doc/examples")
    args = parser.parse_args()
    torch.set_num_threads(1)
    random.seed(0)
    torch.manual_seed(0)

    files = [p.read_bytes() for p in sorted(pathlib.Path(args.dir).rglob("*.jpg"))]
    print(f"# PIL {Image.__version__} + torchvision input pipeline, 1 thread, "
          f"{len(files)} JPEG files from {args.dir}")
    print(f"decode_full_images_per_s {images_per_second(files, args.seconds, decode):.1f}")
    for name, transform in pipelines(224).items():
        rate = images_per_second(files, args.seconds, lambda f: transform(decode(f)))
        print(f"decode_{name}_224_images_per_s {rate:.1f}")
    crops = multi_crop()
    rate = images_per_second(files, args.seconds, lambda f: crops(decode(f)))
    print(f"decode_MultiCrop_160_images_per_s {rate:.1f}")


if __name__ == "__main__":
    main()
