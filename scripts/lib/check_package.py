"""Checks what `sam build` made: every function of the template has an aarch64 ELF bootstrap of
at most MAX_BOOTSTRAP_BYTES.

Usage: check_package.py TEMPLATE BUILD_DIR. Prints each bootstrap's size and its zipped size (what
a deploy uploads) and exits non-zero if a function has no bootstrap, one for another machine, or
one over the size target.
"""

import io
import sys
import zipfile
from pathlib import Path

import yaml

EM_AARCH64 = 183
# The size target (docs/deploy.md, "Packaging"): a bootstrap is read from the package at every cold start.
MAX_BOOTSTRAP_BYTES = 8_000_000


class _Template(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (`!Ref`, `!Sub`...) as plain values."""


_Template.add_multi_constructor("!", lambda loader, suffix, node: None)


def functions(template: Path) -> list[str]:
    resources = yaml.load(template.read_text(), Loader=_Template)["Resources"]
    return sorted(k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function")


def problem(bootstrap: Path) -> str | None:
    if not bootstrap.is_file():
        return "no bootstrap"
    header = bootstrap.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return "not an ELF executable"
    if header[4] != 2 or int.from_bytes(header[18:20], "little") != EM_AARCH64:
        return "not a 64-bit aarch64 executable"
    return None


def zipped_size(bootstrap: Path) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(bootstrap, "bootstrap")
    return buffer.tell()


def main(template: Path, build_dir: Path) -> int:
    failures, total, total_zipped = [], 0, 0
    print(f"{'function':34} {'bootstrap':>10} {'zipped':>10}")
    for function in functions(template):
        bootstrap = build_dir / function / "bootstrap"
        if (why := problem(bootstrap)) is not None:
            failures.append(f"{function}: {why} ({bootstrap})")
            continue
        size, zipped = bootstrap.stat().st_size, zipped_size(bootstrap)
        if size > MAX_BOOTSTRAP_BYTES:
            failures.append(f"{function}: {size / 1e6:.2f} MB, over the {MAX_BOOTSTRAP_BYTES / 1e6:.0f} MB target")
        total, total_zipped = total + size, total_zipped + zipped
        print(f"{function:34} {size / 1e6:>7.2f} MB {zipped / 1e6:>7.2f} MB")
    print(f"{'all ' + str(len(functions(template))) + ' functions':34} {total / 1e6:>7.1f} MB {total_zipped / 1e6:>7.1f} MB")
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
