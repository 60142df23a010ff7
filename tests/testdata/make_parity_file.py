#!/usr/bin/python3
"""Writes an encoder + PIC parity file with the schema of resnet18_mlp.h5 (see README.md).

A reimplementation of the original PIC model in plain PyTorch (ResNet family with `_d`
variants, width multiplier, small-image stem, linear or MLP head; PIC over crop groups;
torch.optim.SGD), run on the CPU in float32 with one thread. pic-parity reads any file this
script writes and builds the architecture from its attributes.

    /usr/bin/python3 tests/testdata/make_parity_file.py tests/testdata/resnet50d_small.h5

The defaults make the file checked in next to this script: resnet50_d (Bottleneck blocks,
deep stem, average-pool shortcuts), width 1/16, small stem, linear head, two large crops
per image (crop-major group) and one small crop, 28 px and 20 px inputs so that odd
feature-map sizes (7 -> 4, 5 -> 3) exercise the ceil-mode shortcut pooling.
"""
import argparse
import math

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, k, stride):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)


def shortcut(cin, cout, stride, avg_down):
    if stride == 1 and cin == cout:
        return None
    if avg_down:  # `_d`: pool first, then a stride-1 1x1 conv (names downsample.1, .2)
        return nn.Sequential(
            nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
            conv(cin, cout, 1, 1), nn.BatchNorm2d(cout))
    return nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, avg_down):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3, 1), nn.BatchNorm2d(planes)
        self.downsample = shortcut(cin, planes, stride, avg_down)

    def last_bn(self):
        return self.bn2

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride, avg_down):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, planes, 1, 1), nn.BatchNorm2d(planes)
        self.conv2, self.bn2 = conv(planes, planes, 3, stride), nn.BatchNorm2d(planes)
        self.conv3, self.bn3 = conv(planes, planes * 4, 1, 1), nn.BatchNorm2d(planes * 4)
        self.downsample = shortcut(cin, planes * 4, stride, avg_down)

    def last_bn(self):
        return self.bn3

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + identity)


ARCHS = {'resnet18': (BasicBlock, [2, 2, 2, 2]), 'resnet34': (BasicBlock, [3, 4, 6, 3]),
         'resnet50': (Bottleneck, [3, 4, 6, 3]), 'resnet101': (Bottleneck, [3, 4, 23, 3]),
         'resnet152': (Bottleneck, [3, 8, 36, 3])}


class ResNet(nn.Module):
    def __init__(self, arch, width, small_stem, mlp_head, mlp_hidden_dim, feature_dim):
        super().__init__()
        deep = arch.endswith('_d')
        block, counts = ARCHS[arch[:-2] if deep else arch]
        stride = 1 if small_stem else 2
        if deep:
            self.conv1 = nn.Sequential(
                nn.Sequential(conv(3, 32, 3, stride), nn.BatchNorm2d(32), nn.ReLU()),
                nn.Sequential(conv(32, 32, 3, 1), nn.BatchNorm2d(32), nn.ReLU()),
                conv(32, 64, 3, 1))
        else:
            self.conv1 = conv(3, 64, 3 if small_stem else 7, stride)
        self.bn1 = nn.BatchNorm2d(64)
        self.max_pool = not small_stem
        base, cin, layers = int(64 * width), 64, []
        for stage, count in enumerate(counts):
            blocks = []
            for b in range(count):
                blocks.append(block(cin, base << stage, 2 if stage > 0 and b == 0 else 1, deep))
                cin = (base << stage) * block.expansion
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        if mlp_head:
            self.fc1, self.fc2 = nn.Linear(cin, mlp_hidden_dim), nn.Linear(mlp_hidden_dim, feature_dim)
        else:
            self.fc = nn.Linear(cin, feature_dim)
        self.mlp_head = mlp_head
        # The original's initialisation; linear layers keep PyTorch's default.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
        for m in self.modules():
            if isinstance(m, (BasicBlock, Bottleneck)):
                m.last_bn().weight.data.zero_()

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.max_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc2(F.relu(self.fc1(x))) if self.mlp_head else self.fc(x)


class PIC(nn.Module):
    def __init__(self, encoder, num_instances, feature_dim, temperature):
        super().__init__()
        self.encoder = encoder
        self.sim_matrix = nn.Parameter(torch.empty(num_instances, feature_dim).normal_(0, 0.01))
        self.temperature = temperature

    def forward(self, x, x_small, y_idx):
        # x [B, C, 3, H, W] -> one crop-major group; each small crop is its own group.
        weight = F.normalize(self.sim_matrix, dim=1)
        large = x.transpose(0, 1).reshape(-1, *x.shape[2:])
        logits = [F.normalize(self.encoder(large), dim=1).mm(weight.t()) / self.temperature]
        labels = [y_idx.repeat(x.shape[1])]
        for s in range(x_small.shape[1]):
            feats = F.normalize(self.encoder(x_small[:, s]), dim=1)
            logits.append(feats.mm(weight.detach().t()) / self.temperature)
            labels.append(y_idx)
        logits, labels = torch.cat(logits), torch.cat(labels)
        return logits, labels, F.cross_entropy(logits, labels)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('out')
    p.add_argument('--arch', default='resnet50_d')
    p.add_argument('--width', type=float, default=0.0625)
    p.add_argument('--small-stem', type=int, default=1)
    p.add_argument('--mlp-head', type=int, default=0)
    p.add_argument('--mlp-hidden-dim', type=int, default=2048)
    p.add_argument('--feature-dim', type=int, default=32)
    p.add_argument('--temperature', type=float, default=0.2)
    p.add_argument('--num-instances', type=int, default=24)
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--num-crop', type=int, default=2)
    p.add_argument('--num-crop2', type=int, default=1)
    p.add_argument('--image-size', type=int, default=28)
    p.add_argument('--image-size2', type=int, default=20)
    p.add_argument('--seed', type=int, default=7)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    lr, momentum, weight_decay = 0.1, 0.9, 1e-4

    encoder = ResNet(a.arch, a.width, a.small_stem, a.mlp_head, a.mlp_hidden_dim, a.feature_dim)
    model = PIC(encoder, a.num_instances, a.feature_dim, a.temperature)
    # Make every BN visible: the zero gammas would hide the residual branches' weights.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    init = {k: v.clone() for k, v in model.state_dict().items()}

    x = torch.randn(a.batch, a.num_crop, 3, a.image_size, a.image_size)
    x_small = torch.randn(a.batch, a.num_crop2, 3, a.image_size2, a.image_size2)
    y_idx = torch.randperm(a.num_instances)[:a.batch]

    model.eval()
    with torch.no_grad():
        eval_features = model.encoder(x[:, 0])

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    logits, labels, loss = model(x, x_small, y_idx)
    loss.backward()
    grads = {k: v.grad.clone() for k, v in model.named_parameters()}
    opt.step()
    opt.zero_grad()
    _, _, loss2 = model(x, x_small, y_idx)
    loss2.backward()
    opt.step()

    with h5py.File(a.out, 'w') as f:
        attrs = dict(arch=a.arch, width=a.width, small_stem=a.small_stem, mlp_head=a.mlp_head,
                     mlp_hidden_dim=a.mlp_hidden_dim, feature_dim=a.feature_dim,
                     temperature=a.temperature, num_instances=a.num_instances,
                     loss=loss.item(), loss_after_one_step=loss2.item(), sgd_lr=lr,
                     sgd_momentum=momentum, sgd_weight_decay=weight_decay, sgd_steps=2,
                     generator='tests/testdata/make_parity_file.py', torch_version=str(torch.__version__))
        for k, v in attrs.items():
            f.attrs[k] = v
        for name, t in [('x', x), ('x_small', x_small), ('y_idx', y_idx),
                        ('eval_features', eval_features), ('train_logits', logits.detach()),
                        ('train_labels', labels)]:
            f[name] = t.numpy()
        for group, tensors in [('init', init), ('grad', grads),
                               ('after_two_steps', model.state_dict())]:
            for k, v in tensors.items():
                f[group + '/' + k] = v.detach().numpy()
    n = sum(v.numel() for v in init.values())
    print(f'{a.out}: {a.arch} width {a.width}, {n} parameter and buffer values, loss {loss.item():.6f}')


if __name__ == '__main__':
    main()
