#!/usr/bin/env python3
"""Checks that the library's groups include only the groups below them (docs/design.md, "Layout").

    scripts/check-layering.py [REPO]

Each source or header under include/cnn/<group>/ or src/<group>/ may include the public headers
("cnn/<g>/...") and the internal headers ("<g>/...", under src/) of the groups its row allows;
public headers never include internal ones (they are not installed), and the program in cli/
includes only public headers. Prints every include that breaks a rule; exit status 1 if any.
"""
import pathlib
import re
import sys

# group -> the groups it may include (itself always)
ALLOWED = {
    "core": set(),
    "kernels": {"core"},
    "data": {"core", "kernels"},
    "nn": {"core", "kernels"},
    "arch": {"core", "nn"},
    "train": {"core", "kernels", "data", "nn"},
    "io": {"core", "data", "nn", "arch", "train"},
    "plots": {"core", "data", "nn", "train", "io"},
    "mpi": {"core"},
    "onnx": {"core", "data", "nn", "arch", "io"},
    # the high-level API: include/cnn/model.hpp (headers right in include/cnn/) and src/api/
    "api": {"core", "data", "nn", "arch", "train", "io"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def group_of(path, root):
    parts = path.relative_to(root).parts
    if parts[0] == "include" and len(parts) > 3:
        return parts[2], True
    if parts[0] == "include" and len(parts) == 3:
        return "api", True
    if parts[0] == "src" and len(parts) > 2:
        return parts[1], False
    return None, False


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    files = [p for d in ("include", "src", "cli") for p in (root / d).rglob("*") if p.suffix in (".hpp", ".cpp")]
    checked = 0
    for path in sorted(files):
        group, public = group_of(path, root)
        in_cli = path.relative_to(root).parts[0] == "cli"
        if group is None and not in_cli:
            problems.append(f"{path.relative_to(root)}: not in a group folder")
            continue
        checked += 1
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = match.group(1)
            where = f"{path.relative_to(root)}:{number}: includes \"{target}\""
            if target.startswith("cnn/"):
                pieces = target.split("/")
                target_group = pieces[1] if len(pieces) > 2 else "api"
                internal = False
            elif "/" in target and (root / "src" / target).exists():
                target_group = target.split("/")[0]
                internal = True
            else:
                continue  # a header beside the file, or a library's
            if in_cli:
                if internal:
                    problems.append(f"{where}: the program uses only public headers")
                continue
            if internal and public:
                problems.append(f"{where}: a public header cannot include an internal one")
            if target_group != group and target_group not in ALLOWED.get(group, set()):
                problems.append(f"{where}: {group} may not depend on {target_group}")
    for problem in problems:
        print(problem)
    print(f"layering: {checked} files checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
