"""Every program of the build that links LibTorch also keeps libfw_cuda_runtime.so among its
needed libraries (core/cuda_runtime.h: its constructor is what loads LibTorch's CUDA side on
a GPU machine; nothing calls into it, so a linker running --as-needed would drop it and
CUDA would silently be missing).

Usage: check_cuda_runtime_linked.py BUILD_DIR
"""
import os
import subprocess
import sys


def needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def main():
    build = sys.argv[1]
    checked, missing = 0, []
    for folder in ("bin", "tests"):
        d = os.path.join(build, folder)
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if not os.path.isfile(path) or not os.access(path, os.X_OK):
                continue
            with open(path, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
            libs = needed(path)
            if "libtorch_cpu.so" not in libs:
                continue
            checked += 1
            if "libfw_cuda_runtime.so" not in libs:
                missing.append(os.path.join(folder, name))
    if missing:
        print("these programs link LibTorch but not libfw_cuda_runtime.so (CUDA would never load):", *missing, sep="\n  ")
        return 1
    if checked < 10:
        print(f"only {checked} programs linking LibTorch found under {build}: wrong folder?")
        return 1
    print(f"{checked} programs link LibTorch, each with libfw_cuda_runtime.so")
    return 0


if __name__ == "__main__":
    sys.exit(main())
