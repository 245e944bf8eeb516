#!/usr/bin/env python3
"""Random-weight VGG16 (Keras) and ResNet-18 (torchvision) saved in every format sliceseq imports, with the
features the source framework computes, for test/models/pretrained-parity.test.ts.

The files are large (VGG16's convolutions alone are 58 MB), so nothing is committed: the test runs this script
into a temporary folder when the Python side is present.

  keras OUT [--size 32]     (needs tensorflow-cpu: python3 -m venv .venv-keras && .venv-keras/bin/pip install
                            tensorflow-cpu==2.21.0 safetensors==0.8.0)
      OUT/vgg16-notop.h5        the applications' weights-only layout (layer_names, weight_names per layer)
      OUT/vgg16-keras2.h5       the same in Keras 2's encoding, as the downloadable notop file has it: fixed-length
                                byte-string attributes, weights named `block1_conv1_W_1:0`, `block1_conv1_b_1:0`
      OUT/vgg16-full.h5         model.save('….h5'): the legacy full-model file (model_weights group)
      OUT/vgg16.keras           Keras 3 archive (config.json + model.weights.h5)
      OUT/vgg16-nested.h5, OUT/vgg16-nested.keras   the same VGG16 inside a Sequential with a Dense top
      OUT/vgg16.weights.h5      Keras 3 weights-only file
      OUT/vgg16-input.npy       [n, H, W, 3] RGB in [0, 1] (sliceseq's windowed-image range)
      OUT/vgg16-features.npy    the model's average-pooled features on preprocess_input(input * 255) ('caffe')
  torch OUT [--size 64]     (Debian: apt-get install python3-torch python3-torchvision)
      OUT/resnet18.pth, OUT/resnet18-state.npz (the state dict), OUT/resnet18-input.npy (NHWC, [0, 1]),
      OUT/resnet18-features.npy (everything before fc, on the input normalised by ImageNet mean/std, eval mode)
      OUT/vgg16-torch-state.npz, OUT/vgg16-torch-input.npy, OUT/vgg16-torch-features.npy: torchvision's VGG16
      `features` (random biases), average pooled, at --vgg-size (32)
  safetensors NPZ OUT       (needs safetensors + numpy, e.g. the Keras venv above): NPZ → safetensors with the
                            safetensors library, so the torch side needs no pip packages
"""
import argparse
import os

import numpy as np


def keras_fixtures(out, size, seed):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(seed)
    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(size, size, 3), pooling='avg')
    rng = np.random.default_rng(seed)
    # Keras initialises biases to zero; random ones make a swapped bias show in the features.
    for layer in model.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0, 0.05, bias.shape).astype(np.float32)])
    images = rng.uniform(0, 1, (2, size, size, 3)).astype(np.float32)
    features = model.predict(keras.applications.vgg16.preprocess_input(images.copy() * 255.0), verbose=0)
    with h5py.File(os.path.join(out, 'vgg16-notop.h5'), 'w') as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    with h5py.File(os.path.join(out, 'vgg16-keras2.h5'), 'w') as f:
        names = [layer.name for layer in model.layers]
        f.attrs['layer_names'] = np.array([n.encode() for n in names])
        f.attrs['backend'] = b'tensorflow'
        f.attrs['keras_version'] = b'2.0.8'
        for layer in model.layers:
            group = f.create_group(layer.name)
            weights = layer.get_weights()
            weight_names = [f'{layer.name}_{suffix}_1:0'.encode() for suffix in ('W', 'b')][: len(weights)]
            group.attrs['weight_names'] = np.array(weight_names, dtype='S') if weights else np.zeros((0,), dtype='S1')
            for name, value in zip(weight_names, weights):
                group.create_dataset(name.decode(), data=value)
    model.save(os.path.join(out, 'vgg16-full.h5'))
    model.save(os.path.join(out, 'vgg16.keras'))
    model.save_weights(os.path.join(out, 'vgg16.weights.h5'))
    nested = keras.Sequential([keras.Input((size, size, 3)), model, keras.layers.Dense(2, name='top')])
    nested.save(os.path.join(out, 'vgg16-nested.h5'))
    nested.save(os.path.join(out, 'vgg16-nested.keras'))
    np.save(os.path.join(out, 'vgg16-input.npy'), images)
    np.save(os.path.join(out, 'vgg16-features.npy'), features.astype(np.float32))


def torch_fixtures(out, size, seed, vgg_size):
    import torch
    import torchvision

    torch.manual_seed(seed)
    model = torchvision.models.resnet18().eval()
    # Fresh batch norms are the identity; random statistics and affine terms make every one of them count.
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
        images = torch.rand(2, 3, size, size)
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        trunk = torch.nn.Sequential(*list(model.children())[:-1])
        features = trunk((images - mean) / std).flatten(1)
    save_torch(out, 'resnet18', model.state_dict(), images, features)
    torch.save(model.state_dict(), os.path.join(out, 'resnet18.pth'))

    vgg = torchvision.models.vgg16().eval()
    with torch.no_grad():
        for module in vgg.features:
            if isinstance(module, torch.nn.Conv2d):
                module.bias.normal_(0, 0.05)
        images = torch.rand(2, 3, vgg_size, vgg_size)
        features = vgg.features((images - mean) / std).mean(dim=(2, 3))
    save_torch(out, 'vgg16-torch', {k: v for k, v in vgg.state_dict().items() if k.startswith('features.')}, images, features)


def save_torch(out, stem, state, images, features):
    np.savez(os.path.join(out, f'{stem}-state.npz'), **{k: v.numpy() for k, v in state.items()})
    np.save(os.path.join(out, f'{stem}-input.npy'), images.permute(0, 2, 3, 1).contiguous().numpy())
    np.save(os.path.join(out, f'{stem}-features.npy'), features.numpy())


def safetensors_file(npz, out):
    from safetensors.numpy import save_file

    with np.load(npz) as arrays:
        save_file({k: np.ascontiguousarray(arrays[k]) for k in arrays.files}, out, metadata={'format': 'pt'})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    for name, size in (('keras', 32), ('torch', 64)):
        p = sub.add_parser(name)
        p.add_argument('out')
        p.add_argument('--size', type=int, default=size)
        p.add_argument('--seed', type=int, default=0)
        if name == 'torch':
            p.add_argument('--vgg-size', type=int, default=32)
    p = sub.add_parser('safetensors')
    p.add_argument('npz')
    p.add_argument('out')
    args = parser.parse_args()
    if args.command == 'safetensors':
        safetensors_file(args.npz, args.out)
        return
    os.makedirs(args.out, exist_ok=True)
    if args.command == 'keras':
        keras_fixtures(args.out, args.size, args.seed)
    else:
        torch_fixtures(args.out, args.size, args.seed, args.vgg_size)


if __name__ == '__main__':
    main()
