"""The experiment files: one TOML file per reproducible experiment (`gridworlds list --experiments`).

This folder stays at the top of the repository, and the build installs it as the package
gridworlds.experiments (setup.cfg's package_dir), so that `gridworlds run NAME` finds the files in a
wheel as in a checkout. This file makes the folder a package, which an editable install needs to
import it under that name.
"""
