"""The synthesis floor: start node and load the constructs, cdktf and AWS provider jsii assemblies, nothing else.

Run by ``bench/synth`` as its scenario (c): what every process of this project pays before it builds a single
construct. ``import cdktf`` loads the constructs and cdktf assemblies the standard way; the provider assembly is
handed to the jsii kernel directly, as ``cdktf_cdktf_provider_aws/_jsii`` does, without importing any Python
module of the provider package. With ``PAYMIG_PLAIN_PROVIDER_IMPORT=1`` node loads the provider's ``index.js`` as
shipped (every namespace); without it, with the project's lazy ``index.js`` (``cdktf_runtime.provider_loader``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cdktf_runtime  # noqa: E402,F401  (environment and NODE_OPTIONS before the jsii kernel starts)
from cdktf_runtime.provider_loader import JSII_ASSEMBLY, PROVIDER_PACKAGE  # noqa: E402


def provider_tarball() -> tuple[str, Path]:
    """Return the provider assembly's version and tarball (``<package>/_jsii/<name>@<version>.jsii.tgz``).

    Raises:
        FileNotFoundError: the provider package or its assembly tarball is not installed.
    """
    spec = importlib.util.find_spec(PROVIDER_PACKAGE)  # finds the package without executing it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{PROVIDER_PACKAGE} is not installed")
    jsii_dir = Path(next(iter(spec.submodule_search_locations))) / "_jsii"
    tarballs = sorted(jsii_dir.glob("*.jsii.tgz"))
    if len(tarballs) != 1:
        raise FileNotFoundError(f"expected one assembly tarball in {jsii_dir}, found {len(tarballs)}")
    version = tarballs[0].name.removesuffix(".jsii.tgz").rsplit("@", 1)[1]
    return version, tarballs[0]


def load_assemblies() -> None:
    """Start the jsii kernel (node) and load the constructs, cdktf and provider assemblies into it."""
    import cdktf  # noqa: F401  (loads constructs and cdktf)
    from jsii._runtime import kernel

    version, tarball = provider_tarball()
    kernel.load(JSII_ASSEMBLY, version, str(tarball))


if __name__ == "__main__":
    load_assemblies()
