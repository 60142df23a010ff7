#!/usr/bin/env bash
# Installs the Debian 12 packages pic builds, tests and runs with. Quick when nothing is
# missing: it asks dpkg first and only calls apt-get for what is absent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libopencv-dev
  libturbojpeg0-dev libjpeg62-turbo-dev
  libzip-dev zlib1g-dev
  libcli11-dev catch2
  dataset-fashion-mnist
  opencv-doc
  python3-torch python3-torchvision python3-h5py python3-numpy python3-pil
  python3-yaml               # tests/spack/check_spack_env.py reads the Spack environments
  # tests/slurm starts its own one-node cluster: munged, slurmctld, slurmd, sbatch, srun.
  slurm-wlm munge
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
