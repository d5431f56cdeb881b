#!/usr/bin/env python3
"""Runs clang-tidy (warnings as errors, .clang-tidy) over every file of src/ and tests/ in a
build's compile database, and fails when any file has a finding.

    python3 scripts/tidy.py [--build-dir build/default] [--jobs N] [--no-cache] [FILE...]

A file found clean is remembered under ~/.cache/consul-snapshot/tidy (CSNAP_TIDY_CACHE overrides)
by a hash of what decides clang-tidy's answer: its version, .clang-tidy without its comments, the
compile command and the file's preprocessed text with comments kept (clang++ -E -C: every header
it includes, and every NOLINT). An unchanged file is not checked again; a change to the file, to
any header it includes or to a flag checks it again. Only clean results are remembered, so a
finding is reported on every run. The checkout's absolute path (and the build folder's, when it
lies outside) is replaced by a placeholder before hashing, so a clone of the same sources in
another folder, as in CI, finds what an earlier clone checked.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNRESOLVED_ROOT = Path(os.path.abspath(__file__)).parent.parent
CHECKED_FOLDERS = ("src", "tests")


def find_program(*names):
    for name in names:
        for folder in os.environ.get("PATH", "").split(os.pathsep):
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    sys.exit(f"tidy: none of {', '.join(names)} found (scripts/install-deps.sh installs them)")


def compile_arguments(entry):
    """The compiler's arguments of one compile-database entry, without the compiler, the output
    and the source file."""
    words = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    words = words[1:]
    kept = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in ("-o", "-c"):
            skip = word == "-o"
            continue
        if word == entry["file"]:
            continue
        kept.append(word)
    return kept


def without_comments(config_text):
    """`.clang-tidy` without its comment lines: the reason written beside a check does not change
    clang-tidy's answer, so editing it does not check every file again."""
    return "\n".join(line for line in config_text.splitlines() if not line.lstrip().startswith("#"))


def relocatable(text, roots):
    """`text` with each of `roots` (the checkout's absolute path, the build folder's when it lies
    elsewhere) replaced by a placeholder, so that a clone of the same sources in another folder (CI)
    hashes the same. Only the path is replaced: everything below it, and every byte of every file,
    is still hashed."""
    for root, placeholder in roots:
        text = text.replace(root, placeholder)
    return text


def cache_key(entry, options):
    """The hash of everything clang-tidy's answer for `entry` depends on, or None when the file
    does not preprocess (then it is always checked, and the failure is reported there)."""
    arguments = compile_arguments(entry)
    preprocessed = subprocess.run(
        [options.clang, *arguments, "-Wno-unknown-warning-option", "-E", "-C", entry["file"]],
        cwd=entry["directory"], capture_output=True, check=False)
    if preprocessed.returncode != 0:
        return None
    digest = hashlib.sha256()
    text_roots = [(str(root), placeholder) for root, placeholder in options.roots]
    byte_roots = [(root.encode(), placeholder.encode()) for root, placeholder in text_roots]
    for part in (options.tidy_version, options.config_text, entry["directory"], entry["file"],
                 "\0".join(arguments)):
        digest.update(relocatable(part, text_roots).encode())
        digest.update(b"\0")
    # The line markers (`# 1 "/checkout/src/..."`) and __FILE__ name every header by its absolute
    # path; its text follows, so a change to any header still changes the key.
    digest.update(relocatable(preprocessed.stdout, byte_roots))
    return digest.hexdigest()


def check_file(entry, options):
    """Returns (file, clean, output, cached)."""
    key = None
    if options.cache_dir:
        key = cache_key(entry, options)
        if key and (options.cache_dir / key).exists():
            return entry["file"], True, "", True
    result = subprocess.run(
        [options.tidy, "-p", str(options.build_dir), "--quiet", "--warnings-as-errors=*",
         entry["file"]],
        cwd=ROOT, capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).strip()
    # clang-tidy prints "N warnings generated." for diagnostics it then filters (system headers,
    # disabled checks); only a non-zero exit or a "warning:"/"error:" line is a finding.
    clean = result.returncode == 0 and " warning: " not in output and " error: " not in output
    if clean and key:
        (options.cache_dir / key).touch()
    return entry["file"], clean, output, False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "default"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("files", nargs="*", help="only these files (default: all of src/, tests/)")
    options = parser.parse_args()

    options.build_dir = Path(options.build_dir).resolve()
    database = options.build_dir / "compile_commands.json"
    if not database.exists():
        sys.exit(f"tidy: {database} is missing: configure the build first (cmake --preset default)")
    options.tidy = find_program("clang-tidy-14", "clang-tidy")
    options.clang = find_program("clang++-14", "clang++")
    options.tidy_version = subprocess.run([options.tidy, "--version"], capture_output=True,
                                          text=True, check=True).stdout
    options.config_text = without_comments((ROOT / ".clang-tidy").read_text())
    # The build folder first: when it lies inside the checkout it is named by the checkout's
    # placeholder and what follows, as any other folder of the checkout.
    # Both spellings of a path reached through a symbolic link: the compile database may use either.
    options.roots = [(root, "@ROOT@") for root in dict.fromkeys((ROOT, UNRESOLVED_ROOT))]
    if not options.build_dir.is_relative_to(ROOT):
        options.roots.insert(0, (options.build_dir, "@BUILD@"))
    options.cache_dir = None
    if not options.no_cache:
        default_cache = Path.home() / ".cache" / "consul-snapshot" / "tidy"
        options.cache_dir = Path(os.environ.get("CSNAP_TIDY_CACHE", default_cache))
        options.cache_dir.mkdir(parents=True, exist_ok=True)

    wanted = {str(Path(f).resolve()) for f in options.files}
    entries = []
    seen = set()
    for entry in json.loads(database.read_text()):
        path = Path(entry["file"]).resolve()
        relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else None
        if relative is None or relative.parts[0] not in CHECKED_FOLDERS:
            continue
        if wanted and str(path) not in wanted:
            continue
        if entry["file"] in seen:
            continue
        seen.add(entry["file"])
        entries.append(entry)
    if wanted and len(entries) != len(wanted):
        sys.exit("tidy: some of the files named are not in the compile database")

    started = time.monotonic()
    failed = []
    cached = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
        for file, clean, output, was_cached in pool.map(lambda e: check_file(e, options), entries):
            cached += was_cached
            if not clean:
                failed.append(file)
                print(output, flush=True)
    print(f"tidy: {len(entries)} files, {cached} unchanged since a clean check, "
          f"{len(failed)} with findings, {time.monotonic() - started:.0f} s")
    for file in failed:
        print(f"tidy: findings in {Path(file).relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
