#!/usr/bin/env bash
# Makes the Python environments that the fixtures, the parity checks and the bench peers use, from the
# local package index that pip is configured with (never the public one: no network needed).
#   scripts/python-env.sh cpu    .venv       PyTorch 2.13 (CPU) + transformers + tokenizers + safetensors
#   scripts/python-env.sh cuda   .venv-cuda  PyTorch 2.14.1 (CUDA 13) + its nvidia wheels: a libtorch with
#                                            CUDA to compile and link the CUDA addon against (no GPU needed)
# Idempotent: an environment that already has the pinned versions is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-cpu}
TORCH_CPU=2.13.0
TORCH_CUDA=2.14.1
TRANSFORMERS=5.18.0

# pip's configured indexes (pip config list); the local ones first so pip does not wait on the public one.
indexes=()
while IFS= read -r url; do indexes+=("$url"); done < <(
  pip3 config list 2>/dev/null | sed -n "s/^global\.\(index-url\|extra-index-url\)='\(.*\)'$/\2/p" | tr ' ' '\n' | grep -v '^$' || true)
pip_args=(--disable-pip-version-check --quiet --no-warn-conflicts)
if [ ${#indexes[@]} -gt 0 ]; then
  pip_args+=(--index-url "${indexes[0]}")
  for u in "${indexes[@]:1}"; do pip_args+=(--extra-index-url "$u"); done
fi

python=${PYTHON:-python3}
# pip warns once per package that the local index lacks a folder for it: noise, not a problem.
pip_install() { "$venv/bin/pip" install "${pip_args[@]}" "$@" 2> >(grep -v " is ignored: it is neither a file nor a directory" >&2); }
make_venv() { [ -x "$1/bin/python" ] || "$python" -m venv "$1"; }
# True when package $2 is installed at version $3 (a local suffix such as +cpu or +cu130 is ignored).
has() { "$1/bin/python" -c "import importlib.metadata as m,sys; sys.exit(0 if m.version('$2').split('+')[0]=='$3' else 1)" 2>/dev/null; }

case "$kind" in
  cpu)
    venv=.venv
    make_venv "$venv"
    if ! has "$venv" torch "$TORCH_CPU" || ! has "$venv" transformers "$TRANSFORMERS"; then
      pip_install "torch==$TORCH_CPU" "transformers==$TRANSFORMERS" safetensors tokenizers numpy
    fi
    ;;
  cuda)
    venv=.venv-cuda
    make_venv "$venv"
    if ! has "$venv" torch "$TORCH_CUDA"; then
      # torch's own requirements minus cuda-bindings and triton (not in the local index; neither is needed
      # to compile, link or load libtorch). The nvidia wheels are: libtorch_cuda.so needs them to load.
      pip_install --no-deps "torch==$TORCH_CUDA"
      pip_install filelock 'typing-extensions>=4.10.0' 'setuptools>=77.0.3' 'sympy>=1.13.3' \
        'networkx>=2.5.1' jinja2 'fsspec>=0.8.5' numpy \
        'cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3' \
        nvidia-cudnn-cu13==9.24.0.43 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.30.7 nvidia-nvshmem-cu13==3.4.5
    fi
    ;;
  *) echo "usage: scripts/python-env.sh cpu|cuda" >&2; exit 2 ;;
esac
"$venv/bin/python" -c "import torch; print('$venv: torch', torch.__version__, torch.utils.cmake_prefix_path)"
