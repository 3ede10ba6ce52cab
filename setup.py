"""Only the optional C extensions live here; everything else is in setup.cfg.

``optional=True``: where no compiler is found the install still succeeds and
scanning.extract.spin uses its Python loop.
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("scanning.extract._spin", ["scanning/extract/_spin.c"], optional=True, extra_compile_args=["-O2"]),
    Extension("scanning.dlp._keywords", ["scanning/dlp/_keywords.c"], optional=True, extra_compile_args=["-O2"]),
    Extension("scanning.dlp._runs", ["scanning/dlp/_runs.c"], optional=True, extra_compile_args=["-O2"]),
])
