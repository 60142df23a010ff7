#!/usr/bin/env python3
"""Checks the Spack environments without Spack or a network (CTest: spack_env).

Usage: check_spack_env.py SOURCE_DIR

For spack.yaml (CPU) and spack/gpu/spack.yaml (CUDA + NCCL):
  - valid YAML with Spack's environment keys, every spec a plain string (an unquoted
    "cmake@3.18:" is a YAML mapping, which Spack rejects);
  - a spec for every dependency that cmake/*.cmake look for, with the variants pic needs
    (hdf5 +mpi, opencv's modules and codecs, LibTorch with or without CUDA/NCCL);
  - the two environments list the same stack apart from the GPU packages.
Exits 0 when all holds, 1 with one line per problem, 77 (CTest: skipped) without PyYAML.
"""
import re
import sys
from pathlib import Path

try:
    import yaml
except ImportError:
    print("spack_env: skipped: PyYAML missing (Debian: python3-yaml)")
    sys.exit(77)

# Keys Spack accepts under `spack:` that these files may use, and the ones they must have.
ALLOWED_KEYS = {"specs", "view", "concretizer", "packages", "definitions", "include",
                "config", "modules", "mirrors", "repos", "compilers", "develop"}
REQUIRED_KEYS = {"specs", "view", "concretizer", "packages"}

# What each find_package / pkg_check_modules name in cmake/*.cmake is in Spack. None: nothing
# to install (Threads: the C library; Python3: only PicFindTorch's fallback, py-torch brings it).
CMAKE_TO_SPACK = {
    "Torch": "py-torch", "Threads": None, "Catch2": "catch2", "MPI": "openmpi",
    "HDF5": "hdf5", "OpenCV": "opencv", "JPEG": "libjpeg-turbo", "PkgConfig": "pkgconf",
    "libzip": "libzip", "ZLIB": "zlib", "CLI11": "cli11", "Python3": None,
}
# Not found by CMake but needed to build: scripts/build.sh configures with Ninja.
BUILD_TOOLS = ["cmake", "ninja"]
# Variants pic needs, as spec tokens, in both environments.
NEEDED_VARIANTS = {
    "hdf5": ["+mpi"],
    "opencv": ["+imgproc", "+imgcodecs", "+jpeg", "+png"],
}
GPU_ONLY = {"cuda", "nccl"}


def spec_name(spec):
    """The package name at the start of a spec string ('hdf5@1.10: +mpi' -> 'hdf5')."""
    return re.match(r"[A-Za-z0-9_-]+", spec).group(0)


def spec_tokens(spec):
    """Version, variants and key=value tokens of a spec, split on blanks and +/~ signs."""
    return re.findall(r"[+~][\w-]+|[\w-]+=[\w,-]+|@[\w.:,-]+", spec)


def cmake_dependencies(source_dir):
    """Names that cmake/*.cmake pass to find_package / pkg_check_modules."""
    text = "\n".join(p.read_text() for p in sorted((source_dir / "cmake").glob("*.cmake")))
    names = re.findall(r"^\s*find_package\((\w+)", text, re.M)
    for modules in re.findall(r"^\s*pkg_check_modules\(\w+([^)]*)\)", text, re.M):
        names += [m for m in modules.split() if m.isidentifier() and not m.isupper()]
    return sorted(set(names))


def load_environment(file, path, problems):
    """The environment's specs as {name: spec}, after checking the file's structure."""
    data = yaml.safe_load(file.read_text())
    if not isinstance(data, dict) or set(data) != {"spack"}:
        problems.append(f"{path}: the only top-level key must be 'spack'")
        return {}
    env = data["spack"]
    for key in sorted(REQUIRED_KEYS - set(env)):
        problems.append(f"{path}: missing spack:{key}")
    for key in sorted(set(env) - ALLOWED_KEYS):
        problems.append(f"{path}: unknown key spack:{key}")
    if env.get("concretizer", {}).get("unify") is not True:
        problems.append(f"{path}: concretizer:unify must be true (one MPI, one HDF5)")
    if env.get("view") in (None, False):
        problems.append(f"{path}: view must be enabled (CMake finds the stack through it)")
    requires = {name: str(settings.get("require"))
                for name, settings in (env.get("packages") or {}).items()}
    if requires.get("jpeg") != "libjpeg-turbo":
        problems.append(f"{path}: packages:jpeg:require must be libjpeg-turbo")
    specs = {}
    for spec in env.get("specs") or []:
        if not isinstance(spec, str):
            problems.append(f"{path}: spec {spec!r} is not a string (quote specs with ':')")
            continue
        specs[spec_name(spec)] = spec
    return specs


def check_stack(path, specs, wanted, problems):
    """Every wanted package has a spec, with the variants pic needs."""
    for name in wanted:
        if name not in specs:
            problems.append(f"{path}: no spec for {name}")
    for name, variants in NEEDED_VARIANTS.items():
        tokens = spec_tokens(specs.get(name, ""))
        for variant in variants:
            if variant not in tokens:
                problems.append(f"{path}: {name} needs {variant}")
    if not any(t.startswith("@2") for t in spec_tokens(specs.get("catch2", ""))):
        problems.append(f"{path}: catch2 must be version 2 (catch2@2)")


def cuda_arch(spec):
    arch = [t.split("=", 1)[1] for t in spec_tokens(spec) if t.startswith("cuda_arch=")]
    return arch[0] if arch else None


def check_torch(path, specs, gpu, problems):
    """CPU: py-torch ~cuda (its default is +cuda). GPU: +cuda +nccl, one real cuda_arch."""
    torch = spec_tokens(specs.get("py-torch", ""))
    if not gpu:
        if "~cuda" not in torch:
            problems.append(f"{path}: py-torch needs ~cuda (Spack builds +cuda by default)")
        for name in sorted(GPU_ONLY & set(specs)):
            problems.append(f"{path}: {name} belongs in the GPU environment")
        return
    for variant in ["+cuda", "+nccl"]:
        if variant not in torch:
            problems.append(f"{path}: py-torch needs {variant}")
    for name in sorted(GPU_ONLY - set(specs)):
        problems.append(f"{path}: no spec for {name}")
    arch = cuda_arch(specs.get("py-torch", ""))
    if arch is None or not re.fullmatch(r"\d+[af]?", arch):
        problems.append(f"{path}: py-torch needs cuda_arch=<compute capability>, not {arch}")
    if "nccl" in specs and cuda_arch(specs["nccl"]) != arch:
        problems.append(f"{path}: nccl and py-torch must share cuda_arch (nccl: "
                        f"{cuda_arch(specs['nccl'])}, py-torch: {arch})")


def main():
    source_dir = Path(sys.argv[1])
    problems = []
    cmake_names = cmake_dependencies(source_dir)
    unknown = [n for n in cmake_names if n not in CMAKE_TO_SPACK]
    for name in unknown:
        problems.append(f"cmake/*.cmake find {name}: add its Spack package to "
                        f"both environments and to CMAKE_TO_SPACK in {Path(__file__).name}")
    wanted = BUILD_TOOLS + [CMAKE_TO_SPACK[n] for n in cmake_names
                            if n not in unknown and CMAKE_TO_SPACK[n]]

    environments = {}
    for relative, gpu in [("spack.yaml", False), ("spack/gpu/spack.yaml", True)]:
        specs = load_environment(source_dir / relative, relative, problems)
        check_stack(relative, specs, wanted, problems)
        check_torch(relative, specs, gpu, problems)
        environments[relative] = specs

    cpu, gpu = environments["spack.yaml"], environments["spack/gpu/spack.yaml"]
    for name in sorted((set(cpu) | set(gpu)) - GPU_ONLY - {"py-torch"}):
        if cpu.get(name) != gpu.get(name):
            problems.append(f"{name}: spack.yaml has {cpu.get(name)!r}, spack/gpu/spack.yaml "
                            f"{gpu.get(name)!r}; keep the two stacks in step")

    for problem in problems:
        print(f"spack_env: {problem}")
    if problems:
        return 1
    print(f"spack_env: OK: both environments list {', '.join(sorted(wanted))} "
          f"(from cmake/*.cmake: {', '.join(cmake_names)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
