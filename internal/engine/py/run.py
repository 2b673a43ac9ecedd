"""Start one module of vulntune's engine package.

`python -I run.py vulntune_engine.<module> [OP]`: isolated mode keeps
PYTHON* variables, the user's site-packages and the working directory out
of the engine, and leaves the script's own directory off sys.path too; this
puts back exactly that directory, where vulntune installed the package, and
runs the module as __main__.
"""

import os
import runpy
import sys

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module = sys.argv.pop(1)
    runpy.run_module(module, run_name="__main__", alter_sys=True)
